"""What history costs the Seeker: its RSS and the latency of `GET /api/v1/overview`
with 10,000 finished jobs in its state store, beside the same on an empty store.

Each store is a new SQLite state file, filled through the state store's own
API (`put_job`, `insert_blocks`) with finished jobs as an hourly schedule
leaves them: a 100-key range job in blocks of 25, every block done by one
counted run, finished one after another an hour apart up to two hours ago
(so the 10,000 span some 14 months). No results are stored in the Channel:
the Seeker reads none of them to start or to show the overview. Then a real
`seeker run` is started on each store, side by side, each waited for until
idle (its CPU time still over a second) and its RSS read from /proc; the
overview is then asked of each in turn, many times, and the p50 latency of
each taken (in turns, so that whatever else the machine runs weighs on both).

`measure()` returns the four figures (`rss_mb_*` in MiB, `overview_ms_*` in
milliseconds); run as a script it prints them as JSON.
"""

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from _seeker import operator_token, running_seeker  # noqa: E402
from keys import memory_mib  # noqa: E402

from seeker.state.base import StateStore  # noqa: E402
from seeker.state.factory import open_state  # noqa: E402
from seeker.work.blocks import Block  # noqa: E402
from seeker.work.history import Run, Tally  # noqa: E402
from seeker.work.jobs import Job, JobStatus  # noqa: E402
from seeker.work.sources import Ranges  # noqa: E402
from seeker.work.spec import parse_job  # noqa: E402

HISTORY_JOBS = 10_000
SMOKE_JOBS = 50
JOB_KEYS = 100
BLOCK_SIZE = 25
HOUR_S = 3600.0
OVERVIEW_REQUESTS = 400
SMOKE_REQUESTS = 20
# The Seeker is idle once it used less CPU than this over IDLE_WINDOW_S.
IDLE_CPU_S = 0.02
IDLE_WINDOW_S = 1.0
IDLE_TIMEOUT_S = 60.0
START_TIMEOUT_S = 60.0
POLL_S = 0.1
FILL_BATCH = 500


def finished_job(n: int, finished_at: float) -> tuple[Job, list[Block]]:
    """Finished job number `n` of a schedule, as its Seeker stored it: every key done."""
    spec = parse_job(
        {
            "image": "seekgive/catalog:1",
            "range": [0, JOB_KEYS],
            "block_size": BLOCK_SIZE,
            "name": f"hourly-{n}",
        }
    )
    assert isinstance(spec.source, Ranges)
    job_id = f"jhist{n:07d}"
    blocks = [
        Block(
            job_id,
            seq,
            keys,
            runs=(
                Run(
                    f"{job_id}-{seq:06d}.0",
                    f"g{seq % 7:03d}",
                    finished_at - 10.0,
                    keys,
                    {},
                    result_id=f"r{n:07d}{seq:03d}",
                ),
            ),
            issued=1,
            version=2,
        )
        for seq in range(JOB_KEYS // BLOCK_SIZE)
        if (keys := spec.source.block(seq, BLOCK_SIZE))
    ]
    job = Job(
        job_id,
        spec,
        JOB_KEYS,
        len(blocks),
        spec.priority,
        status=JobStatus.DONE,
        created_at=finished_at - 60.0,
        finished_at=finished_at,
        tally=Tally(done=JOB_KEYS),
        next_seq=len(blocks),
    )
    return job, blocks


async def fill(state: StateStore, count: int, now: float) -> None:
    """Store `count` finished jobs, the last finished two hours before `now`."""
    first = now - (count + 1) * HOUR_S
    docs = []
    for n in range(count):
        job, blocks = finished_job(n, first + n * HOUR_S)
        await state.put_job(job.to_doc())
        spec = job.spec
        docs += [b.to_doc(spec.max_attempts, spec.retry_backoff_s) for b in blocks]
        if len(docs) >= FILL_BATCH:
            await state.insert_blocks(docs)
            docs = []
    await state.insert_blocks(docs)


def cpu_s(pid: int) -> float:
    """CPU time (user and system) process `pid` has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / 100


async def wait_idle(pid: int) -> None:
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    before = cpu_s(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(IDLE_WINDOW_S)
        now = cpu_s(pid)
        if now - before < IDLE_CPU_S:
            return
        before = now
    raise SystemExit(f"the Seeker was not idle within {IDLE_TIMEOUT_S:.0f} s")


@dataclass(frozen=True, slots=True)
class Started:
    """A `seeker run` that answers: its process, its overview's URL and a client."""

    process: subprocess.Popen[bytes]
    overview: str
    http: aiohttp.ClientSession


async def started(stack: AsyncExitStack, data_dir: Path, state_url: str) -> Started:
    """A `seeker run` on the state store `state_url` (its other files in
    `data_dir`), once it answers; stopped when `stack` closes."""
    process, url = stack.enter_context(running_seeker(data_dir, "--state", state_url))
    token = await operator_token(data_dir, process)
    headers = {"Authorization": f"Bearer {token}"}
    http = await stack.enter_async_context(aiohttp.ClientSession(headers=headers))
    seeker = Started(process, f"{url}/api/v1/overview", http)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            await overview_ms(seeker)
            return seeker
        except (aiohttp.ClientError, AssertionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the Seeker did not start; see {data_dir.parent / data_dir.name}.log")
        await asyncio.sleep(POLL_S)


async def overview_ms(seeker: Started) -> float:
    """How long one GET /api/v1/overview took, in milliseconds."""
    began = time.perf_counter()
    async with seeker.http.get(seeker.overview) as response:
        await response.read()
        assert response.status == 200, response.status
    return (time.perf_counter() - began) * 1000


async def _measure(work: Path, jobs: int, requests: int) -> dict[str, float | int]:
    stores = {"empty_store": 0, "10k_finished_jobs": jobs}
    async with AsyncExitStack() as stack:
        seekers = {}
        for name, count in stores.items():
            state_url = f"sqlite:///{work / name}.sqlite3"
            state = await open_state(state_url)
            try:
                await fill(state, count, time.time())
            finally:
                await state.close()
            seekers[name] = await started(stack, work / name, state_url)
        figures: dict[str, float | int] = {}
        for name, seeker in seekers.items():
            await wait_idle(seeker.process.pid)
            figures[f"rss_mb_{name}"] = round(memory_mib(seeker.process.pid)[1], 1)
        # Asked in turns, so that what else the machine does weighs on both alike.
        took: dict[str, list[float]] = {name: [] for name in seekers}
        for _ in range(requests):
            for name, seeker in seekers.items():
                took[name].append(await overview_ms(seeker))
        for name, times in took.items():
            figures[f"overview_ms_{name}"] = round(statistics.median(times), 3)
    figures["history_jobs"] = jobs
    return figures


def measure(*, smoke: bool) -> dict[str, float | int]:
    """The Seeker's RSS (MiB) and overview p50 latency (ms) on an empty state store
    and on one holding 10,000 finished jobs (SMOKE_JOBS with `smoke`)."""
    jobs, requests = (SMOKE_JOBS, SMOKE_REQUESTS) if smoke else (HISTORY_JOBS, OVERVIEW_REQUESTS)
    with tempfile.TemporaryDirectory(prefix="seekgive-history-") as work:
        return asyncio.run(_measure(Path(work), jobs, requests))


if __name__ == "__main__":
    print(json.dumps(measure(smoke="--smoke" in sys.argv[1:])))
