"""The load bench's failover phase: two `seeker run` processes on one MongoDB store
(FerretDB here) behind `seeker front`, the fleet dialling the front. Once the load
runs, the leader is killed with SIGKILL; then:
- `takeover_s`: from the kill until the other Seeker says it leads;
- `reconnect_95_s`: from the kill until 95% of the Givers hold a session with it;
- the rate the load ran at before the kill (`tasks_per_s_before`) and after the
  reconnect (`tasks_per_s_after`);
and the run ends, as every run, with keys lost and keys counted twice.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from _load_fleet import Sizes
from _load_run import Load, run_load
from _load_seeker import (
    ACCEPTED,
    ONLINE,
    SeekerProcess,
    metrics,
    new_token,
    seeker_front,
    until_answers,
)

# The leader lease the two Seekers share: the takeover comes within it.
LEADER_LEASE_S = 6.0
LEASE_GRACE_S = 10.0
RECONNECTED = 0.95
TAKEOVER_TIMEOUT_S = 120.0
POLL_S = 0.1


async def leads(http: aiohttp.ClientSession, url: str) -> bool:
    with contextlib.suppress(aiohttp.ClientError):
        async with http.get(f"{url}/healthz") as response:
            return response.status == 200 and (await response.json())["role"] == "leader"
    return False


async def rate(load: Load, url: str, over_s: float) -> float:
    """Tasks counted per second by the Seeker at `url`, over `over_s`."""
    before, started = (await metrics(load.http, url))[ACCEPTED], time.monotonic()
    await asyncio.sleep(over_s)
    return ((await metrics(load.http, url))[ACCEPTED] - before) / (time.monotonic() - started)


def kill_the_leader(seekers: list[SeekerProcess], run_s: float) -> Callable[[Load], Any]:
    async def measure(load: Load) -> dict[str, float]:
        leader, standby = (
            seekers if await leads(load.http, seekers[0].url) else list(reversed(seekers))
        )
        before = await rate(load, leader.url, run_s)
        await asyncio.to_thread(leader.kill)
        killed = time.monotonic()
        takeover_s: float | None = None
        reconnect_s: float | None = None
        while takeover_s is None or reconnect_s is None:
            now = time.monotonic() - killed
            if now > TAKEOVER_TIMEOUT_S:
                raise SystemExit(f"no takeover and reconnect within {TAKEOVER_TIMEOUT_S:.0f} s")
            if takeover_s is None and await leads(load.http, standby.url):
                takeover_s = now
            if takeover_s is not None:
                online = (await metrics(load.http, standby.url)).get(ONLINE, 0)
                if online >= RECONNECTED * load.sizes.givers:
                    reconnect_s = now
            await asyncio.sleep(POLL_S)
        after = await rate(load, standby.url, run_s)
        return {
            "leader_lease_s": LEADER_LEASE_S,
            "tasks_per_s_before": round(before, 1),
            "takeover_s": round(takeover_s, 2),
            "reconnect_95_s": round(reconnect_s, 2),
            "tasks_per_s_after": round(after, 1),
        }

    return measure


async def measure(
    work: Path,
    mongo_url: Callable[[str], str],
    sizes: Sizes,
    cpus: tuple[int | None, int | None],
    *,
    run_s: float,
) -> dict[str, Any]:
    """The failover under `sizes`' load, its rate measured over `run_s` before the kill
    and after the reconnect: its figures, with how many times the front could not
    ask a Seeker who leads (each time it drops every session through it)."""
    seeker_cpu, fleet_cpu = cpus
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    token = new_token()
    shared = (
        *("--store", mongo_url("channel"), "--state", mongo_url("state")),
        *("--leader-lease-s", str(LEADER_LEASE_S), "--lease-grace-s", str(LEASE_GRACE_S)),
    )
    seekers = [SeekerProcess(work / name, token, shared, seeker_cpu) for name in "ab"]
    try:
        for seeker in seekers:
            await until_answers(f"{seeker.url}/healthz", seeker.process, (200,))
        async with seeker_front([s.url for s in seekers], work / "front.log", seeker_cpu) as url:
            figures = await run_load(
                work,
                url,
                token,
                sizes,
                kill_the_leader(seekers, run_s),
                channel_store=mongo_url("channel"),
                fleet_cpu=fleet_cpu,
            )
    finally:
        for seeker in seekers:
            await asyncio.to_thread(seeker.stop)
    front_log = await asyncio.to_thread((work / "front.log").read_text)
    return figures | {
        "givers": sizes.givers,
        "front_leader_checks_failed": front_log.count("cannot ask the Seeker"),
    }
