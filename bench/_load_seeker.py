"""The load bench's view of the Seeker: `seeker run` (and `seeker front`) processes,
their CPU time and RSS read from /proc, their metrics, and what their API says of
the jobs at the end (when each task was counted, and the records each job exports).
"""

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

import ferretdb  # noqa: E402

from channel.wire import canonical  # noqa: E402
from seeker.cli.client import SeekerClient  # noqa: E402

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.1
SAMPLE_EVERY_S = 5.0
BLOCKS_PAGE = 500
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BIN = Path(sys.executable).parent
SEEKER_CPU, FLEET_CPU = 0, 1


def cpu_s(pid: int) -> float:
    """CPU time (user + system) process `pid` has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for process {pid}")


def cpus() -> tuple[int | None, int | None]:
    """The Seeker's CPU and the fleet's: 0 and 1 where this process may use both."""
    allowed = os.sched_getaffinity(0)
    if {SEEKER_CPU, FLEET_CPU} <= allowed:
        return SEEKER_CPU, FLEET_CPU
    return None, None


def pin(pid: int, cpu: int | None) -> None:
    """Keep process `pid` on CPU `cpu` (None: leave it where it may run)."""
    if cpu is not None:
        os.sched_setaffinity(pid, {cpu})


def spawn(argv: list[Any], log: Path, cpu: int | None) -> subprocess.Popen:
    """`argv` as a process writing to `log`, kept on CPU `cpu`."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    pin(process.pid, cpu)
    return process


class SeekerProcess:
    """One `seeker run` on a free port, its log beside its data dir, operator token
    fixed; `args` add to the command line."""

    def __init__(self, data_dir: Path, token: str, args: tuple[str, ...], cpu: int | None) -> None:
        self.port = ferretdb.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True)
        token_file = data_dir.parent / f"{data_dir.name}.token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        self.process = spawn(
            [
                *(BIN / "seeker", "run", "--port", str(self.port), "--data-dir", data_dir),
                *("--operator-token-file", token_file, *args),
            ],
            data_dir.parent / f"{data_dir.name}.log",
            cpu,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            ferretdb.stop_process(self.process, STOP_TIMEOUT_S)


@contextlib.asynccontextmanager
async def seeker_front(upstreams: list[str], log: Path, cpu: int | None) -> AsyncIterator[str]:
    """`seeker front` before `upstreams`, with its default settings; yields its URL."""
    port = ferretdb.free_port()
    flags = [flag for url in upstreams for flag in ("--upstream", url)]
    argv = [BIN / "seeker", "front", "--port", str(port), *flags]
    process = await asyncio.to_thread(spawn, argv, log, cpu)
    try:
        await until_answers(f"http://127.0.0.1:{port}/healthz", process, (200, 503))
        yield f"http://127.0.0.1:{port}"
    finally:
        await asyncio.to_thread(ferretdb.stop_process, process, STOP_TIMEOUT_S)


async def until_answers(url: str, process: subprocess.Popen, statuses: tuple[int, ...]) -> None:
    """Wait until `url` answers with one of `statuses`; SystemExit if `process` exits
    first or START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{url}: its process exited with code {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    if response.status in statuses:
                        return
            await asyncio.sleep(POLL_S)
    raise SystemExit(f"{url} did not answer within {START_TIMEOUT_S:.0f} s")


@dataclass(slots=True)
class Samples:
    """A process's RSS (MiB) and CPU use (share of one core) every SAMPLE_EVERY_S,
    with the time since sampling began."""

    pid: int
    at_s: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    cpu_share: list[float] = field(default_factory=list)

    async def run(self) -> None:
        started = last_at = time.monotonic()
        last_cpu = cpu_s(self.pid)
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            now, used = time.monotonic(), cpu_s(self.pid)
            self.at_s.append(now - started)
            self.rss_mib.append(rss_mib(self.pid))
            self.cpu_share.append((used - last_cpu) / (now - last_at))
            last_at, last_cpu = now, used

    def growth_pct(self, from_s: float) -> float:
        """RSS growth from the first sample at or after `from_s` (the first sample if
        none is that late) to the last, in percent."""
        if not self.rss_mib:
            return 0.0
        start = next((n for n, at in enumerate(self.at_s) if at >= from_s), 0)
        return (self.rss_mib[-1] / self.rss_mib[start] - 1) * 100


async def metrics(http: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """The Seeker's metrics by sample name, labels written in as Prometheus does
    (`seekgive_results_total{outcome="accepted"}`)."""
    async with http.get(f"{url}/metrics") as response:
        response.raise_for_status()
        text = await response.text()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


ACCEPTED = 'seekgive_results_total{outcome="accepted"}'
# A counter: the keys of jobs a schedule prunes leave `seekgive_keys`, not this.
FINISHED_KEYS = "seekgive_keys_finished_total"
ONLINE = "seekgive_givers_online"
LEASES = "seekgive_leases"
LOOP_LAG = "seekgive_loop_lag_p99_seconds"


async def counted_at(
    http: aiohttp.ClientSession, url: str, job_id: str, last_seq: int
) -> dict[str, float]:
    """When the Seeker at `url` counted each task of job `job_id` it holds a run of,
    up to block `last_seq`: task id to the run's time, read from the job's blocks
    page by page (`http` sends the operator's token)."""
    found: dict[str, float] = {}
    after: int | None = None
    while after is None or after < last_seq:
        query = f"limit={BLOCKS_PAGE}" + ("" if after is None else f"&after={after}")
        async with http.get(f"{url}/api/v1/jobs/{job_id}/blocks?{query}") as response:
            response.raise_for_status()
            page = await response.json()
        for block in page["blocks"]:
            for run in block["runs"]:
                found[run["task_id"]] = run["at"]
        after = page["next"]
        if after is None:
            break
    return found


async def exported_keys(client: SeekerClient, job_id: str) -> Counter[str]:
    """How many records the export of job `job_id` holds for each key."""
    counts: Counter[str] = Counter()
    pending = b""
    async for chunk in client.chunks(f"{job_id}/records"):
        *lines, pending = (pending + chunk).split(b"\n")
        counts.update(canonical.loads(line)["key"] for line in lines if line)
    return counts


def new_token() -> str:
    return secrets.token_urlsafe(24)
