"""Measurements of the Giver: its overhead per task, and how fast a Seeker finds it.

Overhead: `measure_overhead` starts a Seeker and one Giver (one slot) as
processes, the way people run them (`seeker run`, `giver run`), and submits
one-key jobs one after another: a task's time is from submitting its job over
the JSON API to seeing the job done (the job is polled every POLL_S), so it
covers scheduling, the assignment over the session, the container, collecting
and signing its output, the outbox's fsync, the post to the Channel and the
Seeker counting the result. Interleaved with these, in the same run, the
baseline: a plain `docker run --rm` of the same image, with the same sandbox
flags (read-only root, /tmp tmpfs, all capabilities dropped,
no-new-privileges, memory, CPU and pids limits, nobody's uid, no network)
and the same input file. The scraper is tests/scrapers/faulty in mode "ok"
(built from the local base image; nothing is pulled): a fixed, small piece
of work.

Discovery: in a LAN of network namespaces (scripts/netns.py), a
`seeker run --discover` process runs in one namespace; each sample starts a
`giver run --lan` process in another and times how long until the Seeker
logs that it holds a session with it, then stops the Giver and waits until
the Seeker saw the advert withdrawn. Needs root (namespaces).

Prints medians, 95th percentiles and ratios; `--json` and `--smoke` are
bench/_cli.py's.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import _cli  # noqa: E402
from _sandbox import docker_run  # noqa: E402
from netns import Lan, Lines  # noqa: E402

BIN = Path(sys.executable).parent
FAULTY_DIR = REPO / "tests" / "scrapers" / "faulty"
BENCH_IMAGE = "seekgive-bench/faulty:1"
BASE_IMAGE = os.environ.get("BASE_IMAGE", "seekgive/base:bookworm")
DEFAULT_TASKS = 50
DEFAULT_SAMPLES = 5
DISCOVERY_SEEKER_PORT = 8765
POLL_S = 0.01
READY_TIMEOUT_S = 60.0
TASK_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
# Sizes of a --smoke run: the fewest tasks a 95th percentile takes, one Giver found.
SMOKE = {"tasks": 2, "samples": 1}


def build_image(base_image: str = BASE_IMAGE) -> str:
    """Build the faulty scraper from the local base image; its tag."""
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "--build-arg",
            f"BASE_IMAGE={base_image}",
            "-t",
            BENCH_IMAGE,
            str(FAULTY_DIR),
        ],
        check=True,
        capture_output=True,
    )
    return BENCH_IMAGE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True, slots=True)
class SeekerApi:
    """The Seeker's JSON API at `url`, called as the operator holding `token`."""

    url: str
    token: str

    def call(self, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            data=data,
            method="POST" if data else "GET",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=TASK_TIMEOUT_S) as response:
            return json.load(response)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: gave up waiting for {what}")
        time.sleep(POLL_S)


def token_written(token_file: Path) -> bool:
    """Whether a new Seeker has written its first operator token to `token_file`."""
    try:
        return bool(token_file.read_text().strip())
    except FileNotFoundError:
        return False


def answers(api: SeekerApi) -> bool:
    try:
        api.call("/leader")
    except (OSError, urllib.error.URLError):
        return False
    return True


def givers_online(api: SeekerApi) -> int:
    return sum(g["online"] for g in api.call("/givers")["givers"])


def giver_task(api: SeekerApi, image: str, n: int) -> float:
    """Seconds from submitting a one-key job to seeing it done."""
    started = time.perf_counter()
    job = api.call("/jobs", {"image": image, "keys": [f"k{n}"], "settings": {"mode": "ok"}})
    path = f"/jobs/{job['job_id']}"
    deadline = time.monotonic() + TASK_TIMEOUT_S
    while (state := api.call(path))["status"] != "done":
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: job {job['job_id']} not done: {state['keys']}")
        time.sleep(POLL_S)
    elapsed = time.perf_counter() - started
    if state["keys"]["done"] != 1:
        raise SystemExit(f"bench: job {job['job_id']} failed: {state['failures']}")
    return elapsed


def docker_run_once(image: str, work: Path, n: int) -> float:
    """Seconds for one plain `docker run` of `image` over the same one-key input."""
    task = {
        "contract": 1,
        "task_id": f"bench-{n}",
        "job_id": "bench",
        "settings": {"mode": "ok"},
        "keys": [f"k{n}"],
    }
    started = time.perf_counter()
    out = docker_run(image, task, work)
    elapsed = time.perf_counter() - started
    if '"ok": true' not in (out / "status.jsonl").read_text():
        raise SystemExit(f"bench: the baseline run {n} did not finish its key")
    return elapsed


def stop(process: subprocess.Popen, sig: signal.Signals) -> None:
    """Send `process` `sig` and wait for it; kill it if it has not exited within
    STOP_TIMEOUT_S."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def measure_overhead(tasks: int = DEFAULT_TASKS, image: str = "") -> dict[str, float | int]:
    """The figures of `tasks` tasks through a Giver and as many `docker run`s,
    interleaved after one warm-up of each (not counted)."""
    if tasks < 2:
        raise SystemExit("bench: --tasks must be at least 2")
    image = image or build_image()
    seeker_url = f"http://127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="seekgive-bench-giver-") as tmp:
        root = Path(tmp)
        logs = [open(root / name, "wb") for name in ("seeker.log", "giver.log")]
        processes = [
            subprocess.Popen(
                [
                    BIN / "seeker",
                    "run",
                    "--port",
                    seeker_url.rpartition(":")[2],
                    "--data-dir",
                    root / "seeker",
                    "--open-registration",
                ],
                stdout=subprocess.DEVNULL,
                stderr=logs[0],
            )
        ]
        try:
            # A new Seeker writes its first operator token before it listens.
            token_file = root / "seeker" / "operator.token"
            wait_until(lambda: token_written(token_file), READY_TIMEOUT_S, "the operator token")
            api = SeekerApi(seeker_url, token_file.read_text().strip())
            wait_until(lambda: answers(api), READY_TIMEOUT_S, "Seeker")
            processes.append(
                subprocess.Popen(
                    [
                        BIN / "giver",
                        "run",
                        "--seeker",
                        seeker_url,
                        "--slots",
                        "1",
                        "--data-dir",
                        root / "giver",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=logs[1],
                )
            )
            wait_until(lambda: givers_online(api) == 1, READY_TIMEOUT_S, "the Giver")
            work = root / "docker"
            work.mkdir()
            giver_task(api, image, -1)
            docker_run_once(image, work, -1)
            giver_s, docker_s = [], []
            for n in range(tasks):
                giver_s.append(giver_task(api, image, n))
                docker_s.append(docker_run_once(image, work, n))
        finally:
            for process in reversed(processes):
                stop(process, signal.SIGTERM)
            for log in logs:
                log.close()
    giver_median, docker_median = statistics.median(giver_s), statistics.median(docker_s)
    return {
        "tasks": tasks,
        "giver_task_median_s": round(giver_median, 3),
        "giver_task_p95_s": round(p95(giver_s), 3),
        "docker_run_median_s": round(docker_median, 3),
        "docker_run_p95_s": round(p95(docker_s), 3),
        "overhead_ratio_median": round(giver_median / docker_median, 2),
        "overhead_ratio_p95": round(p95(giver_s) / p95(docker_s), 2),
        "overhead_median_s": round(giver_median - docker_median, 3),
    }


def print_overhead(figures: dict[str, float | int]) -> None:
    print(f"one task, {figures['tasks']} of each, interleaved:")
    print(f"  {'':28} {'median':>9} {'p95':>9}")
    for label, name in (("through a Giver", "giver_task"), ("plain docker run", "docker_run")):
        print(
            f"  {label:28} {figures[f'{name}_median_s']:>8.3f}s {figures[f'{name}_p95_s']:>8.3f}s"
        )
    print(
        f"  {'ratio':28} {figures['overhead_ratio_median']:>8.2f}x "
        f"{figures['overhead_ratio_p95']:>8.2f}x"
    )
    print(f"  the grid adds {figures['overhead_median_s']:.3f} s per task (medians)")


def _giver_id(data_dir: Path) -> str:
    shown = subprocess.run(
        [BIN / "giver", "id", "--data-dir", data_dir], capture_output=True, text=True, check=True
    )
    return shown.stdout.split()[1]


def measure_discovery(samples: int, work: Path) -> list[float]:
    """Seconds from a LAN Giver's process starting to the Seeker holding a session with
    it, `samples` times (one Seeker, the same Giver started afresh each time)."""
    with Lan() as lan:
        seeker_node, giver_node = lan.node("seeker"), lan.node("giver")
        seeker = seeker_node.popen(
            [
                str(BIN / "seeker"),
                "run",
                "--host",
                "0.0.0.0",
                "--port",
                str(DISCOVERY_SEEKER_PORT),
                "--data-dir",
                str(work / "seeker"),
                "--discover",
                "--open-registration",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert seeker.stderr is not None
            seeker_log = Lines(seeker.stderr)
            seeker_log.wait_for("serving on")
            giver_dir = work / "giver"
            giver_id = _giver_id(giver_dir)
            taken = []
            for n in range(samples):
                mark = len(seeker_log.lines)
                started = time.monotonic()
                giver = giver_node.popen(
                    [str(BIN / "giver"), "run", "--lan", "--data-dir", str(giver_dir)],
                    stderr=subprocess.DEVNULL,
                )
                try:
                    opened = seeker_log.wait_for(rf"giver {giver_id} session open", mark)
                    taken.append(opened - started)
                    print(f"sample {n + 1}: {taken[-1]:.2f} s", flush=True)
                finally:
                    stop(giver, signal.SIGINT)
                seeker_log.wait_for(rf"giver {giver_id} withdrew its advert", mark)
        finally:
            # Deleting the namespaces would leave the processes in them running.
            stop(seeker, signal.SIGINT)
    return taken


def discovery_figures(taken: list[float]) -> dict[str, float | list[float]]:
    ordered = sorted(taken)
    return {
        "discovery_s": round(statistics.median(ordered), 3),
        "discovery_p95_s": round(
            ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 3
        ),
        "discovery_samples_s": [round(t, 3) for t in taken],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks", type=int, default=DEFAULT_TASKS, help="tasks of each kind (%(default)s)"
    )
    parser.add_argument(
        "--image",
        default="",
        help=f"a scraper image like tests/scrapers/faulty (default: build {BENCH_IMAGE})",
    )
    parser.add_argument(
        "--samples", type=int, default=DEFAULT_SAMPLES, help="Givers discovered (%(default)s)"
    )
    args = _cli.parse(parser, SMOKE, argv)
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    try:
        overhead = measure_overhead(args.tasks, args.image)
        print_overhead(overhead)
        with tempfile.TemporaryDirectory(prefix="seekgive-bench-") as work:
            discovery = discovery_figures(measure_discovery(args.samples, Path(work)))
    except KeyboardInterrupt:
        print("giver bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    print(
        f"discovery: median {discovery['discovery_s']:.2f} s, "
        f"p95 {discovery['discovery_p95_s']:.2f} s over {args.samples} sample(s)"
    )
    _cli.print_figures(args, {**overhead, **discovery})
    return 0


if __name__ == "__main__":
    sys.exit(main())
