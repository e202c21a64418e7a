"""One load run against a Seeker: its jobs, the fleet of Givers, what a phase
measures while the load runs (`window`: a steady window's throughput, CPU per
task and loop lag), and the reckoning at the end; `seeker_under_load` runs one
`seeker run` process through it, sampling its RSS and CPU every 5 s.

The jobs: a range job (10,000,000 keys by default, in blocks of 100), an explicit
job (1,000,000 keys from a keys file), and a small job every few seconds for as
long as the load runs, all of the same no-op image. The fleet (bench/_load_fleet.py)
runs in a process of its own on its own core. At the end the fleet stops (its
Givers release the tasks still running), the Seeker is given time to count every
result the Channel acknowledged (until it holds no lease), and then:
- each acknowledged result's count latency is the time from the Channel's
  receipt (its `received_at`, read from the Channel's store) to the time the
  Seeker recorded its run (read back from the job's blocks), both on the
  Seeker's clock;
- every job's records are exported: a key of an acknowledged result missing
  from the export, or a key counted done beyond those exported, is lost; a key
  with more records than one result writes for it is counted twice.
"""

import asyncio
import contextlib
import json
import statistics
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from _load_fleet import Fleet, Sizes
from _load_seeker import (
    ACCEPTED,
    BIN,
    FINISHED_KEYS,
    LEASES,
    LOOP_LAG,
    ONLINE,
    Samples,
    SeekerProcess,
    counted_at,
    cpu_s,
    exported_keys,
    metrics,
    new_token,
    until_answers,
)

from channel.store.factory import open_channel
from seeker.cli.client import SeekerClient
from seeker.work.blocks import block_id_of_task

IMAGE = "bench/noop:1"
# Tasks ask for little, so that many share the fleet's one core in the Givers' eyes.
LIMITS = {"cpus": 0.01, "memory_bytes": 16 * 2**20}
ONLINE_TIMEOUT_S = 300.0
# The share of the Givers online that starts the load: a session the front drops
# now and then (a leader check that times out) does not hold it up.
ONLINE_SHARE = 0.95
SETTLE_TIMEOUT_S = 300.0
SETTLE_QUIET_S = 30.0
ROWS_BATCH = 500
# RSS growth is taken from this far into a run: start-up and job creation are past.
RSS_FROM_S = 120.0
FLEET_STOP_TIMEOUT_S = 120.0
POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a phase lets the load settle before measuring, and measures; and
    whether its jobs wait for the Givers (`staggered`: the jobs come first and the
    Givers join as they come up, so long tasks do not all start and end together)."""

    warmup_s: float
    window_s: float
    staggered: bool = False


def percentile(values: list[float], q: float) -> float:
    """The `q`-th percentile (0-100, nearest rank); 0 of nothing."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, round(q / 100 * len(ordered)) - 1)]


@dataclass
class Load:
    """A load running: the URL Givers and the bench reach the Seeker at, and a
    session carrying the operator's token."""

    url: str
    http: aiohttp.ClientSession
    sizes: Sizes
    job_ids: list[str]
    fleet_pid: int = 0

    async def online(self) -> int:
        """Givers with a session open; 0 while no Seeker answers (a front that knows
        no leader yet answers 503)."""
        try:
            return int((await metrics(self.http, self.url)).get(ONLINE, 0))
        except aiohttp.ClientError:
            return 0


async def submit_jobs(client: SeekerClient, sizes: Sizes, work: Path) -> list[str]:
    body = {"image": IMAGE, "block_size": sizes.block_size, "limits": LIMITS}
    ranged = await client.submit({**body, "name": "load-range", "range": [0, sizes.range_keys]})
    keys_file = work / "keys.txt"
    with keys_file.open("w") as out:
        out.writelines(f"https://example.test/item/{n}\n" for n in range(sizes.explicit_keys))
    explicit = await client.submit({**body, "name": "load-explicit"}, keys_file)
    return [ranged["job_id"], explicit["job_id"]]


async def small_jobs(client: SeekerClient, sizes: Sizes, job_ids: list[str]) -> None:
    """A small job every `small_every_s`, until cancelled."""
    body = {"image": IMAGE, "block_size": sizes.block_size, "limits": LIMITS}
    while True:
        await asyncio.sleep(sizes.small_every_s)
        n = len(job_ids)
        job = await client.submit(
            {**body, "name": f"load-small-{n}", "range": [0, sizes.small_keys]}
        )
        job_ids.append(job["job_id"])


def start_fleet(work: Path, url: str, token: str, sizes: Sizes, cpu: int | None) -> Fleet:
    fleet = Fleet(
        seeker_url=url,
        token=token,
        sizes=sizes,
        data_dir=str(work / "fleet"),
        delivered=str(work / "delivered.jsonl"),
        summary=str(work / "fleet-summary.json"),
        cpu=cpu,
    )
    (work / "fleet.json").write_text(json.dumps(asdict(fleet)))
    return fleet


def spawn_fleet(work: Path) -> subprocess.Popen:
    with (work / "fleet.log").open("wb") as log:
        return subprocess.Popen(
            [BIN / "python", Path(__file__).with_name("_load_fleet.py"), work / "fleet.json"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


def read_fleet(fleet: Fleet) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fleet's summary, and the results the Channel acknowledged."""
    summary = json.loads(Path(fleet.summary).read_text())
    delivered = [json.loads(line) for line in Path(fleet.delivered).read_text().splitlines()]
    return summary, delivered


@contextlib.asynccontextmanager
async def fleet_process(work: Path) -> AsyncIterator[subprocess.Popen]:
    """The fleet as a process; SIGTERM'd (its Givers stopped) on the way out."""
    process = await asyncio.to_thread(spawn_fleet, work)
    try:
        yield process
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, FLEET_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


async def until_online(load: Load, process: subprocess.Popen, wanted: float) -> float:
    """Wait until `wanted` Givers hold a session; how long that took, in s."""
    started = time.monotonic()
    while await load.online() < wanted:
        if process.poll() is not None:
            raise SystemExit(f"the fleet exited with code {process.returncode}; see fleet.log")
        if time.monotonic() - started > ONLINE_TIMEOUT_S:
            raise SystemExit(
                f"fewer than {wanted:.0f} Givers online after {ONLINE_TIMEOUT_S:.0f} s"
            )
        await asyncio.sleep(POLL_S)
    return time.monotonic() - started


Measure = Callable[[Load], Awaitable[dict[str, float]]]


async def run_load(
    work: Path,
    url: str,
    operator_token: str,
    sizes: Sizes,
    measure: Measure,
    *,
    channel_store: str,
    fleet_cpu: int | None,
    staggered: bool = False,
) -> dict[str, Any]:
    """Bring the fleet up, submit the jobs, let `measure` watch the load, stop, and
    reckon: `measure`'s figures with the fleet's and the reckoning's. The Seeker's
    Channel keeps its results in `channel_store`."""
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {operator_token}"}
    async with (
        SeekerClient(url, token=operator_token) as client,
        aiohttp.ClientSession(headers=headers) as http,
    ):
        token = (await client.issue_token({"label": "load bench"}))["token"]
        load = Load(url, http, sizes, [])
        if staggered:
            load.job_ids += await submit_jobs(client, sizes, work)
        fleet = start_fleet(work, url, token, sizes, fleet_cpu)
        async with fleet_process(work) as process:
            load.fleet_pid = process.pid
            online_s = await until_online(load, process, ONLINE_SHARE * sizes.givers)
            if not staggered:
                # Work comes once the Givers are up: a fleet busy with short tasks
                # comes up slowly, and the ramp is not what is measured.
                load.job_ids += await submit_jobs(client, sizes, work)
            arriving = asyncio.create_task(small_jobs(client, sizes, load.job_ids))
            try:
                figures = await measure(load)
            finally:
                arriving.cancel()
                await asyncio.gather(arriving, return_exceptions=True)
        summary, delivered = await asyncio.to_thread(read_fleet, fleet)
        await settle(http, url)
        counted: dict[str, float] = {}
        for job_id, last_seq in last_seqs(delivered).items():
            counted |= await counted_at(http, url, job_id, last_seq)
        checks = await reckon(client, load.job_ids, delivered, sizes.records_per_key)
    received = await received_at(channel_store, [d["task_id"] for d in delivered])
    count_ms = [
        (counted[task_id] - at) * 1000 for task_id, at in received.items() if task_id in counted
    ]
    assign_ms = summary["assign_ms"]
    return {
        **figures,
        "givers_online_s": round(online_s, 1),
        "results_delivered": len(delivered),
        "results_uncounted": sum(d["task_id"] not in counted for d in delivered),
        "assign_p50_ms": round(percentile(assign_ms, 50), 1),
        "assign_p99_ms": round(percentile(assign_ms, 99), 1),
        "count_p50_ms": round(percentile(count_ms, 50), 1),
        "count_p99_ms": round(percentile(count_ms, 99), 1),
        "count_mean_ms": round(statistics.fmean(count_ms), 1) if count_ms else 0.0,
        "fleet_failures": len(summary["failed"]),
        **checks,
    }


def last_seqs(delivered: list[dict[str, Any]]) -> dict[str, int]:
    """The last block of each job a delivered result is of."""
    found: dict[str, int] = {}
    for result in delivered:
        seq = int(block_id_of_task(result["task_id"]).rpartition("-")[2])
        found[result["job_id"]] = max(seq, found.get(result["job_id"], seq))
    return found


async def settle(http: aiohttp.ClientSession, url: str) -> None:
    """Return once the Seeker holds no lease (every result in was counted, every
    task still running was released), or has counted nothing new for
    SETTLE_QUIET_S, or SETTLE_TIMEOUT_S has passed."""
    started = changed = time.monotonic()
    seen = -1.0
    while True:
        now, found = time.monotonic(), await metrics(http, url)
        if found[ACCEPTED] != seen:
            seen, changed = found[ACCEPTED], now
        if found[LEASES] == 0 or now - changed > SETTLE_QUIET_S or now - started > SETTLE_TIMEOUT_S:
            return
        await asyncio.sleep(POLL_S)


async def received_at(channel_store: str, task_ids: list[str]) -> dict[str, float]:
    """When the Channel received each task's result (its first, if several)."""
    channel = await open_channel(channel_store)
    found: dict[str, float] = {}
    try:
        for start in range(0, len(task_ids), ROWS_BATCH):
            for row in await channel.result_rows(task_ids[start : start + ROWS_BATCH]):
                found[row.task_id] = min(row.received_at, found.get(row.task_id, row.received_at))
    finally:
        await channel.close()
    return found


async def reckon(
    client: SeekerClient, job_ids: list[str], delivered: list[dict[str, Any]], per_key: int
) -> dict[str, int]:
    """Keys lost and keys counted twice, from every job's export."""
    posted: dict[str, set[str]] = {job_id: set() for job_id in job_ids}
    for result in delivered:
        posted[result["job_id"]].update(result["keys"])
    lost = double = exported = 0
    for job_id in job_ids:
        records = await exported_keys(client, job_id)
        done = (await client.job(job_id))["keys"]["done"]
        lost += len(posted[job_id] - records.keys()) + max(0, done - len(records))
        double += sum(max(0, n - per_key) for n in records.values())
        exported += len(records)
    return {"keys_lost": lost, "keys_double": double, "keys_exported": exported}


def window(timing: Timing, seeker_pid: int) -> Callable[[Load], Any]:
    """Watch the load `timing.warmup_s`, then measure it over `timing.window_s`: tasks
    and keys counted per second, the Seeker's CPU per task (and the fleet's share of
    its core), the Seeker's loop lag."""

    async def measure(load: Load) -> dict[str, float]:
        await asyncio.sleep(timing.warmup_s)
        before, started = await metrics(load.http, load.url), time.monotonic()
        cpu_before, fleet_before = cpu_s(seeker_pid), cpu_s(load.fleet_pid)
        await asyncio.sleep(timing.window_s)
        after = await metrics(load.http, load.url)
        cpu_after, fleet_after = cpu_s(seeker_pid), cpu_s(load.fleet_pid)
        took_s = time.monotonic() - started
        tasks = after[ACCEPTED] - before[ACCEPTED]
        tasks_per_s = tasks / took_s
        return {
            "tasks_per_s": round(tasks_per_s, 1),
            "keys_per_s": round((after[FINISHED_KEYS] - before[FINISHED_KEYS]) / took_s, 1),
            "seeker_cpu_ms_per_task": round((cpu_after - cpu_before) * 1000 / max(tasks, 1), 2),
            "seeker_cpu_share": round((cpu_after - cpu_before) / took_s, 2),
            "fleet_cpu_share": round((fleet_after - fleet_before) / took_s, 2),
            "efficiency": round(tasks_per_s / load.sizes.ideal_tasks_per_s, 3),
            "loop_lag_p99_ms": round(after[LOOP_LAG] * 1000, 1),
            "window_s": round(took_s, 1),
        }

    return measure


async def seeker_under_load(
    work: Path,
    load_sizes: Sizes,
    timing: Timing,
    cpus: tuple[int | None, int | None],
    mongo: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """One `seeker run` under the load, on its default SQLite stores or, given `mongo`
    (a URL by database name), on MongoDB, pinned to `cpus` (the Seeker's, the
    fleet's); its figures."""
    seeker_cpu, fleet_cpu = cpus
    token = new_token()
    if mongo is None:
        channel_store, stores = f"sqlite:///{work / 'seeker' / 'channel.sqlite3'}", ()
    else:
        channel_store = mongo("channel")
        stores = ("--store", channel_store, "--state", mongo("state"))
    seeker = SeekerProcess(work / "seeker", token, stores, seeker_cpu)
    try:
        await until_answers(f"{seeker.url}/healthz", seeker.process, (200,))
        samples = Samples(seeker.pid)
        sampling = asyncio.create_task(samples.run())
        try:
            figures = await run_load(
                work,
                seeker.url,
                token,
                load_sizes,
                window(timing, seeker.pid),
                channel_store=channel_store,
                fleet_cpu=fleet_cpu,
                staggered=timing.staggered,
            )
        finally:
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
    finally:
        await asyncio.to_thread(seeker.stop)
    rss, share = samples.rss_mib or [0.0], samples.cpu_share or [0.0]
    return {
        **figures,
        "rss_mb_first": round(rss[0], 1),
        "rss_mb_max": round(max(rss), 1),
        "rss_mb_last": round(rss[-1], 1),
        "seeker_cpu_share_max": round(max(share), 2),
        "rss_growth_pct": round(samples.growth_pct(RSS_FROM_S), 1),
        "samples": len(samples.rss_mib),
    }
