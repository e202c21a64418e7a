"""The whole grid under load: a real `seeker run` process and a fleet of Givers on real
sessions (default 1,000, two slots each), each task waiting its time and writing
its records instead of running a container. See docs/operations.md ("Load bench")
for every figure.

Phases, each a function returning its figures (PHASES; --phase picks some):
- sqlite: the fast profile (1 s tasks: the Seeker's ceiling) on the default
  SQLite stores: tasks and keys counted per second over a steady window, the
  Seeker's CPU ms per task, its event-loop lag, RSS and CPU every 5 s.
- realistic: 30-60 s tasks on SQLite: the efficiency against the ideal (slots
  over the mean task time), slot-to-Assign and result-to-count latencies.
- mongo: the fast profile on MongoDB, which here is FerretDB: functional only,
  its timings say nothing of a real MongoDB server.
- failover: two Seekers on one FerretDB store behind `seeker front`; the leader
  is SIGKILLed under load; the takeover, the Givers' reconnect storm, and every
  key counted once.
The mongo phase runs 200 Givers at most (`--mongo-givers`; all of them with
`--long`), the failover phase 50 (`--failover-givers`), both with jobs of 100,000
and 10,000 keys: FerretDB scans a whole collection for every find.
- celery: the baseline, Celery with a Redis broker at the same slots and task
  time.
- flood: 20,000 signed registrations of fresh Givers, 50 at a time, against a
  fresh Seeker: `/healthz` latency meanwhile and the log lines written.
- history: 10,000 finished jobs in the state store against an empty one: the
  Seeker's RSS and `GET /api/v1/overview` latency side by side.
Every run ends with keys lost and keys counted twice, from the jobs' exports:
both must be 0. The Seeker (and FerretDB, Redis, the Celery worker) run on CPU 0,
the fleet (and the Celery producer) on CPU 1, where the machine has two.

`--quick` runs in a few minutes (100 Givers, jobs of 1,000,000 and 100,000 keys,
2-4 s realistic tasks, every window a few seconds), `--long`
soaks the fast profile 10 minutes per store. `--json` and `--smoke` are
bench/_cli.py's.
"""

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import _cli  # noqa: E402
import _load_celery  # noqa: E402
import _load_failover  # noqa: E402
import _load_flood  # noqa: E402
import _load_history  # noqa: E402
import ferretdb  # noqa: E402
from _load_fleet import Sizes  # noqa: E402
from _load_run import Timing, seeker_under_load  # noqa: E402
from _load_seeker import SEEKER_CPU, cpus  # noqa: E402

SMOKE = {
    "givers": 20,
    "task_s": 0.05,
    "realistic_task_s": [0.1, 0.2],
    "range_keys": 4000,
    "explicit_keys": 1000,
    "mongo_range_keys": 4000,
    "mongo_explicit_keys": 1000,
    "small_keys": 200,
    "small_every_s": 1.0,
}


# By mode: the fast, realistic, MongoDB and Celery phases' timings.
TIMINGS = {
    "smoke": (Timing(2, 3), Timing(2, 3, True), Timing(2, 3), Timing(2, 3)),
    "quick": (Timing(3, 6), Timing(4, 6, True), Timing(2, 4), Timing(2, 4)),
    "default": (Timing(15, 30), Timing(60, 60, True), Timing(10, 20), Timing(5, 15)),
    "long": (Timing(30, 600), Timing(60, 60, True), Timing(30, 600), Timing(5, 15)),
}


def mode(args: argparse.Namespace) -> str:
    return "smoke" if args.smoke else "quick" if args.quick else "long" if args.long else "default"


def sizes(args: argparse.Namespace, task_s: float, task_max_s: float) -> Sizes:
    return Sizes(
        givers=args.givers,
        slots=args.slots,
        task_s=task_s,
        task_max_s=task_max_s,
        records_per_key=args.records_per_key,
        record_bytes=args.record_bytes,
        range_keys=args.range_keys,
        explicit_keys=args.explicit_keys,
        small_keys=args.small_keys,
        small_every_s=args.small_every_s,
        block_size=args.block_size,
    )


def fast(args: argparse.Namespace) -> Sizes:
    """1 s tasks (the task time, ±20%)."""
    return sizes(args, args.task_s * 0.8, args.task_s * 1.2)


def on_ferretdb(args: argparse.Namespace) -> Sizes:
    """The fast profile with `--mongo-givers` and smaller jobs: FerretDB scans a whole
    collection for every find (a 10,000,000-key job has 100,000 blocks to scan), so
    its timings are functional only, and fewer Givers keep the default run short."""
    return replace(
        fast(args),
        givers=args.mongo_givers,
        range_keys=args.mongo_range_keys,
        explicit_keys=args.mongo_explicit_keys,
    )


def realistic(args: argparse.Namespace) -> Sizes:
    low, high = args.realistic_task_s
    return sizes(args, low, high)


def suffixed(figures: dict[str, Any], suffix: str) -> dict[str, Any]:
    return {f"{name}_{suffix}": value for name, value in figures.items()}


@contextlib.contextmanager
def mongo_url(work: Path) -> Iterator[Callable[[str], str]]:
    """A FerretDB started here; yields a URL maker for a fresh database by name."""
    with ferretdb.running_ferretdb(work / "ferretdb") as address:
        suffix = uuid.uuid4().hex[:8]
        yield lambda name: f"mongodb://{address}/load_{name}_{suffix}?directConnection=true"


# Phases ------------------------------------------------------------------------------


def sqlite_phase(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    timing = TIMINGS[mode(args)][0]
    figures = asyncio.run(seeker_under_load(work, fast(args), timing, args.cpus))
    report("SQLite, fast profile", figures)
    return suffixed(figures, "sqlite")


def realistic_phase(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    timing = TIMINGS[mode(args)][1]
    figures = asyncio.run(seeker_under_load(work, realistic(args), timing, args.cpus))
    report("SQLite, realistic profile", figures)
    return suffixed(figures, "realistic_sqlite")


def mongo_phase(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    timing = TIMINGS[mode(args)][2]
    with mongo_url(work) as url:
        figures = asyncio.run(seeker_under_load(work, on_ferretdb(args), timing, args.cpus, url))
    report("MongoDB = FerretDB, fast profile (functional only)", figures)
    return suffixed(figures, "mongo") | {
        "mongo_note": "FerretDB 1.24 on SQLite, not MongoDB: functional only"
    }


def failover_phase(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    with mongo_url(work) as url:
        figures = asyncio.run(
            _load_failover.measure(
                work,
                url,
                replace(on_ferretdb(args), givers=min(args.givers, args.failover_givers)),
                args.cpus,
                run_s=TIMINGS[mode(args)][2].warmup_s,
            )
        )
    report("failover on MongoDB = FerretDB", figures)
    return suffixed(figures, "failover")


def celery_phase(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    timing = TIMINGS[mode(args)][3]
    load = fast(args)
    figures = _load_celery.measure(work, load, timing.warmup_s, timing.window_s, args.cpus)
    report("Celery + Redis, fast profile", figures)
    return {f"celery_{name}": value for name, value in figures.items()}


# A phase takes the options and a folder of its own, and returns its figures; one
# written as `measure(*, smoke)` joins as `lambda args, work: measure(smoke=args.smoke)`.
PHASES: dict[str, Callable[[argparse.Namespace, Path], dict[str, Any]]] = {
    "sqlite": sqlite_phase,
    "realistic": realistic_phase,
    "mongo": mongo_phase,
    "failover": failover_phase,
    "celery": celery_phase,
    "flood": lambda args, work: _load_flood.measure(smoke=args.smoke),
    "history": lambda args, work: _load_history.measure(smoke=args.smoke),
}


# Report -----------------------------------------------------------------------------


def report(what: str, figures: dict[str, Any]) -> None:
    shown = ", ".join(f"{name} {value}" for name, value in figures.items())
    print(f"{what}: {shown}", flush=True)


def headline(figures: dict[str, Any]) -> dict[str, Any]:
    """The goals' figures (named as the goals name them) from the phases' own."""
    found: dict[str, Any] = {}
    for name, source in (
        ("tasks_per_s_sqlite", "tasks_per_s_sqlite"),
        ("keys_per_s_sqlite", "keys_per_s_sqlite"),
        ("seeker_cpu_ms_per_task_sqlite", "seeker_cpu_ms_per_task_sqlite"),
        ("rss_growth_pct", "rss_growth_pct_sqlite"),
        ("tasks_per_s_mongo", "tasks_per_s_mongo"),
        ("efficiency_realistic_sqlite", "efficiency_realistic_sqlite"),
        ("assign_p50_ms", "assign_p50_ms_realistic_sqlite"),
        ("assign_p99_ms", "assign_p99_ms_realistic_sqlite"),
        ("count_p50_ms", "count_p50_ms_realistic_sqlite"),
        ("count_p99_ms", "count_p99_ms_realistic_sqlite"),
        ("celery_tasks_per_s", "celery_tasks_per_s"),
        ("celery_efficiency", "celery_efficiency"),
    ):
        if source in figures:
            found[name] = figures[source]
    lags = [v for name, v in figures.items() if name.startswith("loop_lag_p99_ms_")]
    if lags:
        found["loop_lag_p99_ms"] = max(lags)
    # Over every run, the failover's included: each must lose and double none.
    for what in ("keys_lost", "keys_double"):
        runs = [v for name, v in figures.items() if name.startswith(f"{what}_")]
        if runs:
            found[what] = sum(runs)
    return found


def main() -> int:
    return _cli.run("load bench", bench, ferretdb.FerretDBError)


def bench() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    how_long = parser.add_mutually_exclusive_group()
    how_long.add_argument("--quick", action="store_true", help="a few minutes in all")
    how_long.add_argument("--long", action="store_true", help="a 10-minute soak per store")
    parser.add_argument(
        "--phase",
        action="append",
        choices=list(PHASES),
        help="run only these (repeatable; default all)",
    )
    parser.add_argument(
        "--givers", type=int, default=None, help="simulated Givers (default 1000; 100 with --quick)"
    )
    parser.add_argument(
        "--mongo-givers",
        type=int,
        default=None,
        help="Givers of the mongo and failover phases (default 200 at most, all with --long)",
    )
    parser.add_argument(
        "--failover-givers",
        type=int,
        default=50,
        help="Givers of the failover phase (behind `seeker front`)",
    )
    parser.add_argument("--slots", type=int, default=2, help="slots per Giver")
    parser.add_argument(
        "--task-s", type=float, default=1.0, help="the fast profile's task time (±20%%)"
    )
    parser.add_argument(
        "--realistic-task-s",
        type=float,
        nargs=2,
        default=None,
        metavar=("MIN", "MAX"),
        help="the realistic profile's task times (default 30 60; 2 4 with --quick)",
    )
    parser.add_argument("--records-per-key", type=int, default=1)
    parser.add_argument("--record-bytes", type=int, default=100)
    parser.add_argument(
        "--range-keys", type=int, default=None, help="default 10,000,000 (1,000,000 with --quick)"
    )
    parser.add_argument(
        "--explicit-keys", type=int, default=None, help="default 1,000,000 (100,000 with --quick)"
    )
    parser.add_argument(
        "--mongo-range-keys", type=int, default=100_000, help="the range job on FerretDB"
    )
    parser.add_argument(
        "--mongo-explicit-keys", type=int, default=10_000, help="the explicit job on FerretDB"
    )
    parser.add_argument("--small-keys", type=int, default=1000, help="keys of each small job")
    parser.add_argument("--small-every-s", type=float, default=5.0, help="a small job this often")
    parser.add_argument("--block-size", type=int, default=100)
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="keep the logs and stores here (a new folder) instead of in a temporary one",
    )
    args = _cli.parse(parser, SMOKE)
    if args.givers is None:
        args.givers = 100 if args.quick else 1000
    if args.range_keys is None:
        args.range_keys = 1_000_000 if args.quick else 10_000_000
    if args.explicit_keys is None:
        args.explicit_keys = 100_000 if args.quick else 1_000_000
    if args.mongo_givers is None:
        args.mongo_givers = args.givers if args.long else min(args.givers, 200)
    if args.realistic_task_s is None:
        args.realistic_task_s = [2.0, 4.0] if args.quick else [30.0, 60.0]
    # Taken once, before this process keeps to the Seeker's CPU and could see no other.
    args.cpus = cpus()
    seeker_cpu, _ = args.cpus
    if seeker_cpu is not None:
        # What this process starts (FerretDB, Redis, the Seekers) runs beside the Seeker.
        os.sched_setaffinity(0, {SEEKER_CPU})
    figures: dict[str, Any] = {
        "givers": args.givers,
        "givers_mongo": args.mongo_givers,
        "slots_per_giver": args.slots,
        "cpus_pinned": seeker_cpu is not None,
    }
    with contextlib.ExitStack() as stack:
        work = args.work_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="seekgive-load-"))
        )
        for name in args.phase or list(PHASES):
            figures |= PHASES[name](args, work / name)
    figures = headline(figures) | figures
    _cli.print_figures(args, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
