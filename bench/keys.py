"""What the Seeker's keys cost: memory and creation time of big jobs, and lease
throughput on both state stores, each beside a baseline measured in the same run.

Memory: one real Seeker process (`seeker run`, its default SQLite stores) per
job, so each job's peak is its own. Its idle RSS, then the time to create a
job of 10,000,000 integer keys (a range) or of 1,000,000 distinct string keys
(a keys file, streamed as a multipart upload), and the process's peak RSS
(VmHWM) and RSS (VmRSS) after it. Baseline: a bare Python process holding the
same keys as a list of str. Sizes are in MiB (the JSON keys say "mb"); the
`rss_mb_*_keys` figures are peaks.

Lease throughput: the Seeker's own key manager and coordinator in this
process, with simulated Givers (200, 2 slots each) that answer every task at once
with a signed result, every key ok; keys leased and keys done per second, on
SQLite files and on MongoDB (a FerretDB started here, whose figures are
functional only: it scans a collection for every find), the Channel on the same
kind of store. A run ends when the job is done or its time budget is spent.
Baseline: the same driver's raw rate of single-document writes, one per
transaction (a block of keys costs about 3 writes: cut, lease, result).

The JSON keys name the counts of keys (`rss_mb_10m_int_keys` at the default
10,000,000). `--json` and `--smoke` are bench/_cli.py's.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from pymongo import AsyncMongoClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import _cli  # noqa: E402
import ferretdb  # noqa: E402
from _seeker import operator_token, running_seeker, wait_for_seeker  # noqa: E402

from channel.store.base import Channel  # noqa: E402
from channel.store.factory import open_channel  # noqa: E402
from channel.wire import messages  # noqa: E402
from channel.wire.givers import Capabilities, GiverInfo  # noqa: E402
from channel.wire.identity import Identity  # noqa: E402
from channel.wire.models import Task  # noqa: E402
from channel.wire.results import KeyOutcome, Result  # noqa: E402
from channel.wire.signing import sign_result  # noqa: E402
from seeker.cli.client import SeekerClient  # noqa: E402
from seeker.errors import SeekerError  # noqa: E402
from seeker.grid.coordinator import Coordinator  # noqa: E402
from seeker.grid.registry import GiverRegistry  # noqa: E402
from seeker.grid.trust import TrustBook  # noqa: E402
from seeker.state.factory import open_state  # noqa: E402
from seeker.work.intake import create_job  # noqa: E402
from seeker.work.jobs import JobStatus  # noqa: E402
from seeker.work.manager import KeyManager  # noqa: E402
from seeker.work.spec import parse_job  # noqa: E402

IMAGE = "bench/none:1"
WATCH_S = 0.05
POLL_INTERVAL_S = 0.05
LEASE_GRACE_S = 60.0
WRITES_PER_BLOCK = 3
MONGO_TIMEOUT_MS = 5000
# About the size of a stored block leased as a range.
DOC_FILLER = "x" * 400
CAPS = Capabilities(
    cpus=2, memory_bytes=2**31, arch="amd64", os="linux", docker_version="bench", slots=2
)
# Sizes of a --smoke run: seconds, FerretDB's start included.
SMOKE = {
    "int_keys": 10_000,
    "str_keys": 1000,
    "lease_keys": 2000,
    "givers": 10,
    "budget_s": 10.0,
    "raw_ops_sqlite": 200,
    "raw_ops_mongo": 50,
}
# The baseline: the same keys as a plain list of str in a bare interpreter.
NAIVE_LIST = """
import sys, time

def mib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

before = mib("VmRSS")
started = time.monotonic()
if sys.argv[1] == "range":
    keys = list(map(str, range(int(sys.argv[2]))))
else:
    with open(sys.argv[2]) as lines:
        keys = [line.rstrip("\\n") for line in lines]
took = time.monotonic() - started
print(len(keys), before, mib("VmHWM"), mib("VmRSS"), took)
"""


# Memory and creation time ----------------------------------------------------------


def memory_mib(pid: int) -> tuple[float, float]:
    """(peak RSS, RSS) of process `pid` in MiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmHWM"], fields["VmRSS"]


async def submit_and_measure(
    url: str,
    process: subprocess.Popen,
    data_dir: Path,
    body: dict[str, Any],
    keys_file: Path | None,
) -> dict[str, Any]:
    token = await operator_token(data_dir, process)
    async with SeekerClient(url, token=token) as client:
        await wait_for_seeker(client, process)
        _, idle = memory_mib(process.pid)
        started = time.monotonic()
        job = await client.submit(body, keys_file)
        create_s = time.monotonic() - started
    peak, now = memory_mib(process.pid)
    return {
        "idle_mib": idle,
        "peak_mib": peak,
        "rss_mib": now,
        "create_s": create_s,
        "keys": job["keys"]["total"],
        "blocks": job["blocks"],
    }


def seeker_job(
    work: Path, name: str, body: dict[str, Any], keys_file: Path | None = None
) -> dict[str, Any]:
    """A fresh Seeker given one job: its memory before and after, and the creation time."""
    with running_seeker(work / name) as (process, url):
        try:
            return asyncio.run(submit_and_measure(url, process, work / name, body, keys_file))
        except SeekerError as e:
            raise SystemExit(f"submitting the {name} job failed: {e}") from e


def naive_list(*argv: str) -> dict[str, float]:
    """The baseline: a bare interpreter holding the keys as a list of str."""
    done = subprocess.run(
        [sys.executable, "-c", NAIVE_LIST, *argv], capture_output=True, text=True, check=True
    )
    keys, before, peak, now, took = done.stdout.split()
    return {
        "keys": int(keys),
        "bare_mib": float(before),
        "peak_mib": float(peak),
        "rss_mib": float(now),
        "build_s": float(took),
    }


def write_keys_file(path: Path, count: int) -> None:
    with path.open("w") as out:
        for start in range(0, count, 100_000):
            stop = min(start + 100_000, count)
            out.write("".join(f"https://example.test/item/{n}\n" for n in range(start, stop)))


# Lease throughput -------------------------------------------------------------------


class Posting:
    """Posts the simulated Givers' results to the Channel, each in a task of its own."""

    def __init__(self, channel: Channel, coordinator: Coordinator) -> None:
        self.channel = channel
        self.coordinator = coordinator
        self.tasks: set[asyncio.Task[None]] = set()
        self.failures: list[BaseException] = []
        self.leased_keys = 0
        self.leased_blocks = 0

    def post(self, identity: Identity, task: Task) -> None:
        self.leased_keys += len(task.block)
        self.leased_blocks += 1
        posting = asyncio.create_task(self._post(identity, task))
        self.tasks.add(posting)
        posting.add_done_callback(self._done)

    def _done(self, posting: asyncio.Task[None]) -> None:
        self.tasks.discard(posting)
        error = None if posting.cancelled() else posting.exception()
        # A KeyboardInterrupt raised in a post stops the whole run, not just the post.
        if isinstance(error, Exception):
            self.failures.append(error)

    async def _post(self, identity: Identity, task: Task) -> None:
        now = time.time()
        keys = list(task.block)
        result = Result(
            result_id=uuid.uuid4().hex,
            task_id=task.task_id,
            job_id=task.job_id,
            giver_id="",
            records=[{"key": key, "data": {"n": n}} for n, key in enumerate(keys)],
            outcomes=[KeyOutcome(key, True) for key in keys],
            error=None,
            started_at=now,
            finished_at=now,
        )
        await self.channel.put_result(sign_result(identity, result))
        done = messages.Done(task.task_id, result.result_id)
        await self.coordinator.on_message(identity.id, done)

    async def drain(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.failures:
            raise SystemExit(f"a simulated Giver could not post: {self.failures[0]!r}")


class SimulatedGiver:
    """A Giver's session that answers each task at once, without running anything."""

    def __init__(self, identity: Identity, posting: Posting) -> None:
        self.giver_id = identity.id
        self.closed = False
        self._identity = identity
        self._posting = posting

    async def send(self, message: messages.Message) -> None:
        if isinstance(message, messages.Assign):
            self._posting.post(self._identity, message.task)

    async def close(self) -> None:
        self.closed = True


async def lease_run(
    state_url: str, channel_url: str, scratch: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Keys leased and done per second by the Seeker's key manager and coordinator."""
    async with contextlib.AsyncExitStack() as stack:
        channel = await open_channel(channel_url)
        stack.push_async_callback(channel.close)
        state = await open_state(state_url)
        stack.push_async_callback(state.close)
        keys = KeyManager(state, channel, lease_grace_s=LEASE_GRACE_S)
        await keys.load(time.time())
        givers = GiverRegistry()
        coordinator = Coordinator(
            keys,
            givers,
            TrustBook(),
            identity=Identity.generate(),
            poll_interval_s=POLL_INTERVAL_S,
        )
        body = {"image": IMAGE, "range": [0, args.lease_keys], "block_size": args.block_size}
        job = await create_job(keys, parse_job(body), scratch_dir=scratch)
        posting = Posting(channel, coordinator)
        caps = dataclasses.replace(CAPS, slots=args.slots)
        for n in range(args.givers):
            identity = Identity.generate()
            await channel.register_giver(identity.id, identity.public_key)
            givers.register(
                GiverInfo(identity.id, identity.public_key, f"bench-{n}", caps, time.time())
            )
            coordinator.attach(SimulatedGiver(identity, posting))

        started = time.monotonic()
        deadline = started + args.budget_s
        runner = asyncio.create_task(coordinator.run(), name="coordinator")
        try:
            # Nothing signals a job's end but its status; watch it as `seeker submit --wait` does.
            while job.status is not JobStatus.DONE and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(WATCH_S)
            elapsed_s = time.monotonic() - started
            counts = job.counts()
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await posting.drain()
    return {
        "elapsed_s": elapsed_s,
        "finished": counts["done"] == counts["total"],
        "done_keys": counts["done"],
        "leased_keys": posting.leased_keys,
        "leased_blocks": posting.leased_blocks,
        "done_keys_per_s": counts["done"] / elapsed_s,
        "leased_keys_per_s": posting.leased_keys / elapsed_s,
    }


def block_doc(n: int, version: int) -> bytes:
    return orjson.dumps({"block_id": f"b{n:06d}", "version": version, "filler": DOC_FILLER})


def raw_sqlite(path: Path, ops: int) -> dict[str, float]:
    """Plain sqlite3 (WAL, synchronous=NORMAL): `ops` inserts, then `ops` single-row
    updates over the version read, each in its own transaction."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE docs (id TEXT PRIMARY KEY, version INTEGER, doc BLOB)")
        started = time.monotonic()
        for n in range(ops):
            db.execute("BEGIN")
            db.execute("INSERT INTO docs VALUES (?, 0, ?)", (f"b{n:06d}", block_doc(n, 0)))
            db.execute("COMMIT")
        inserted = time.monotonic()
        for n in range(ops):
            db.execute("BEGIN")
            db.execute(
                "UPDATE docs SET version = 1, doc = ? WHERE id = ? AND version = 0",
                (block_doc(n, 1), f"b{n:06d}"),
            )
            db.execute("COMMIT")
        updated = time.monotonic()
    finally:
        db.close()
    return _rates(ops, inserted - started, updated - inserted)


async def raw_mongo(url: str, ops: int) -> dict[str, float]:
    """PyMongo's async client: `ops` insert_one, then `ops` replace_one over the
    version read, one at a time."""
    client: AsyncMongoClient = AsyncMongoClient(url, serverSelectionTimeoutMS=MONGO_TIMEOUT_MS)
    try:
        docs = client.get_default_database()["docs"]
        started = time.monotonic()
        for n in range(ops):
            await docs.insert_one({"_id": f"b{n:06d}", "version": 0, "filler": DOC_FILLER})
        inserted = time.monotonic()
        for n in range(ops):
            await docs.replace_one(
                {"_id": f"b{n:06d}", "version": 0}, {"version": 1, "filler": DOC_FILLER}
            )
        updated = time.monotonic()
    finally:
        await client.close()
    return _rates(ops, inserted - started, updated - inserted)


def _rates(ops: int, insert_s: float, update_s: float) -> dict[str, float]:
    return {
        "docs": ops,
        "inserts_per_s": ops / insert_s,
        "updates_per_s": ops / update_s,
        "ops_per_s": 2 * ops / (insert_s + update_s),
    }


# Report -----------------------------------------------------------------------------


def report_memory(what: str, seeker: dict[str, Any], naive: dict[str, float]) -> None:
    print(
        f"{what}: Seeker peak {seeker['peak_mib']:.1f} MiB (idle {seeker['idle_mib']:.1f}, "
        f"+{seeker['peak_mib'] - seeker['idle_mib']:.1f}), RSS after {seeker['rss_mib']:.1f} "
        f"MiB, created in {seeker['create_s']:.3f} s ({seeker['blocks']:,} blocks)",
        flush=True,
    )
    print(
        f"  baseline, a list of str in a bare python: peak {naive['peak_mib']:.1f} MiB "
        f"(bare {naive['bare_mib']:.1f}, +{naive['peak_mib'] - naive['bare_mib']:.1f}), "
        f"built in {naive['build_s']:.2f} s",
        flush=True,
    )


def report_lease(store: str, run: dict[str, Any], raw: dict[str, float], block_size: int) -> None:
    ended = "job done" if run["finished"] else "time budget spent"
    raw_keys_per_s = raw["ops_per_s"] * block_size / WRITES_PER_BLOCK
    print(
        f"lease, {store}: {run['done_keys']:,} keys done in {run['elapsed_s']:.1f} s ({ended}): "
        f"{run['done_keys_per_s']:.0f} keys/s done, {run['leased_keys_per_s']:.0f} keys/s "
        f"leased ({run['leased_blocks']:,} blocks)",
        flush=True,
    )
    print(
        f"  baseline, raw {store} writes one at a time, {raw['docs']:,} docs: "
        f"{raw['inserts_per_s']:.0f} inserts/s, "
        f"{raw['updates_per_s']:.0f} updates/s, {raw['ops_per_s']:.0f} writes/s "
        f"= {raw_keys_per_s:.0f} keys/s at {WRITES_PER_BLOCK} writes per block of "
        f"{block_size} (the Seeker does {run['done_keys_per_s'] / raw_keys_per_s:.1%} of that)",
        flush=True,
    )


def main() -> int:
    return _cli.run("keys bench", bench, ferretdb.FerretDBError)


def bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--int-keys", type=int, default=10_000_000)
    parser.add_argument("--str-keys", type=int, default=1_000_000)
    parser.add_argument("--lease-keys", type=int, default=1_000_000)
    parser.add_argument("--givers", type=int, default=200)
    parser.add_argument("--slots", type=int, default=2, help="slots per simulated Giver")
    parser.add_argument("--block-size", type=int, default=100)
    parser.add_argument("--budget-s", type=float, default=60.0, help="longest lease run per store")
    parser.add_argument("--raw-ops-sqlite", type=int, default=20_000, help="docs written")
    parser.add_argument(
        "--raw-ops-mongo", type=int, default=1000, help="docs written (FerretDB is slow)"
    )
    args = _cli.parse(parser, SMOKE)

    with tempfile.TemporaryDirectory(prefix="seekgive-bench-") as tmp:
        work = Path(tmp)
        ints_body = {"image": IMAGE, "range": [0, args.int_keys], "block_size": args.block_size}
        ints = seeker_job(work, "seeker-ints", ints_body)
        ints_naive = naive_list("range", str(args.int_keys))
        report_memory(f"{args.int_keys:,} integer keys (a range)", ints, ints_naive)

        keys_file = work / "keys.txt"
        write_keys_file(keys_file, args.str_keys)
        strs_body = {"image": IMAGE, "block_size": args.block_size}
        strs = seeker_job(work, "seeker-strs", strs_body, keys_file)
        strs_naive = naive_list("file", str(keys_file))
        report_memory(f"{args.str_keys:,} string keys (a keys file)", strs, strs_naive)
        if strs["keys"] != args.str_keys:
            raise SystemExit(f"the Seeker counted {strs['keys']} of {args.str_keys} string keys")

        sqlite_run = asyncio.run(
            lease_run(
                f"sqlite:///{work}/lease-state.sqlite3",
                f"sqlite:///{work}/lease-channel.sqlite3",
                work / "scratch",
                args,
            )
        )
        sqlite_raw = raw_sqlite(work / "raw.sqlite3", args.raw_ops_sqlite)
        report_lease("sqlite", sqlite_run, sqlite_raw, args.block_size)

        with ferretdb.running_ferretdb(work / "ferretdb") as address:
            suffix = uuid.uuid4().hex[:8]

            def mongo(name: str) -> str:
                return f"mongodb://{address}/bench_{name}_{suffix}?directConnection=true"

            mongo_run = asyncio.run(
                lease_run(mongo("state"), mongo("channel"), work / "scratch", args)
            )
            mongo_raw = asyncio.run(raw_mongo(mongo("raw"), args.raw_ops_mongo))
            mongo_server = asyncio.run(ferretdb.functional_only(address))
        report_lease(f"mongodb on {mongo_server}", mongo_run, mongo_raw, args.block_size)

    ints_at, strs_at = _cli.count_label(args.int_keys), _cli.count_label(args.str_keys)
    figures = {
        "int_keys": args.int_keys,
        "str_keys": args.str_keys,
        "block_size": args.block_size,
        "rss_mb_idle": round(ints["idle_mib"], 1),
        f"rss_mb_{ints_at}_int_keys": round(ints["peak_mib"], 1),
        f"rss_after_mb_{ints_at}_int_keys": round(ints["rss_mib"], 1),
        f"create_s_{ints_at}_int_keys": round(ints["create_s"], 3),
        f"blocks_{ints_at}_int_keys": ints["blocks"],
        f"baseline_rss_mb_{ints_at}_int_keys": round(ints_naive["peak_mib"], 1),
        "baseline_bare_mb": round(ints_naive["bare_mib"], 1),
        f"baseline_build_s_{ints_at}_int_keys": round(ints_naive["build_s"], 2),
        f"rss_mb_{strs_at}_str_keys": round(strs["peak_mib"], 1),
        f"rss_after_mb_{strs_at}_str_keys": round(strs["rss_mib"], 1),
        f"create_s_{strs_at}_str_keys": round(strs["create_s"], 2),
        f"blocks_{strs_at}_str_keys": strs["blocks"],
        f"baseline_rss_mb_{strs_at}_str_keys": round(strs_naive["peak_mib"], 1),
        f"baseline_build_s_{strs_at}_str_keys": round(strs_naive["build_s"], 2),
        "lease_givers": args.givers,
        "lease_slots_per_giver": args.slots,
        "mongo_server": mongo_server,
    }
    for store, run, raw in (("sqlite", sqlite_run, sqlite_raw), ("mongo", mongo_run, mongo_raw)):
        figures |= {
            f"lease_keys_per_s_{store}": round(run["done_keys_per_s"], 1),
            f"leased_keys_per_s_{store}": round(run["leased_keys_per_s"], 1),
            f"lease_done_keys_{store}": run["done_keys"],
            f"lease_elapsed_s_{store}": round(run["elapsed_s"], 2),
            f"lease_job_finished_{store}": run["finished"],
            f"raw_store_ops_per_s_{store}": round(raw["ops_per_s"], 1),
            f"raw_store_inserts_per_s_{store}": round(raw["inserts_per_s"], 1),
            f"raw_store_updates_per_s_{store}": round(raw["updates_per_s"], 1),
            f"raw_store_keys_per_s_{store}": round(
                raw["ops_per_s"] * args.block_size / WRITES_PER_BLOCK, 1
            ),
        }
    _cli.print_figures(args, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
