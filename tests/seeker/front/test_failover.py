"""`seeker front` before two `seeker run` processes on one FerretDB state store:
requests, streams and Giver sessions reach whichever Seeker leads, and when the
leader is killed its clients carry on with the other once it takes over."""

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
from support.api import issue_token
from support.base import BIN, JOB_TIMEOUT_S, OPERATOR_HEADERS, run, until
from support.processes import giver_process, seekers_behind_front

# Jobs no Giver of these tests may run: they only need to exist.
NOWHERE = {"requires": {"labels": ["nowhere"]}}


async def answer(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kw) as response:
        return response.status, await response.json()


async def snapshots(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """The `data:` of each server-sent event of the live feed, as it arrives."""
    buffer = b""
    async for chunk in response.content.iter_any():
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            for line in event.decode().splitlines():
                if line.startswith("data: "):
                    yield line.removeprefix("data: ")


async def until_event(events: AsyncIterator[str], text: str) -> None:
    """Read `events` until one holds `text`."""
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while text not in await anext(events):
            pass


async def online(http: aiohttp.ClientSession, url: str) -> bool:
    """Whether the Seeker behind `url` has one Giver, with its session open."""
    status, body = await answer(http, "GET", f"{url}/api/v1/givers")
    return status == 200 and [g["online"] for g in body["givers"]] == [True]


async def test_the_front_carries_requests_streams_and_sessions_through_a_failover(
    tmp_path: Path, mongo_url: str
) -> None:
    async with AsyncExitStack() as stack:
        fronted = await stack.enter_async_context(seekers_behind_front(tmp_path, mongo_url))
        url, upstreams, (leader, _) = fronted.url, fronted.upstreams, fronted.seekers
        http = await stack.enter_async_context(aiohttp.ClientSession(headers=OPERATOR_HEADERS))
        assert await answer(http, "GET", f"{url}/healthz") == (
            200,
            {"status": "ok", "leader": upstreams[0]},
        )

        # A request with a body, and the answers, pass both ways.
        job = {"image": "x:1", "range": [0, 10], **NOWHERE}
        status, created = await answer(http, "POST", f"{url}/api/v1/jobs", json=job)
        assert status == 201, created
        status, listed = await answer(http, "GET", f"{url}/api/v1/jobs?status=running")
        assert (status, [j["job_id"] for j in listed["jobs"]]) == (200, [created["job_id"]])

        # The live feed never ends: what arrives, arrives as the leader writes it.
        async with http.get(f"{url}/admin/events") as feed:
            events = snapshots(feed)
            await until_event(events, created["job_id"])
            status, second = await answer(http, "POST", f"{url}/api/v1/jobs", json=job)
            assert status == 201
            await until_event(events, second["job_id"])

        # A Giver's session (a WebSocket) runs through the front.
        token = await issue_token(url, uses=1)
        await stack.enter_async_context(
            giver_process(
                tmp_path / "giver.log",
                *("--seeker", url, "--data-dir", tmp_path / "giver", "--token", token),
            )
        )
        await until(lambda: online(http, url), "the Giver's session through the front")

        leader.send_signal(signal.SIGKILL)
        await asyncio.to_thread(leader.wait)

        async def no_leader() -> bool:
            status, body = await answer(http, "GET", f"{url}/healthz")
            return status == 503 and body["code"] == "no_leader"

        await until(no_leader, "the front to find no leader")
        async with http.get(f"{url}/api/v1/jobs") as response:
            assert response.status == 503 and response.headers["Retry-After"] == "1"
            assert (await response.json())["code"] == "no_leader"

        # A command started during the gap waits, then completes with the new leader.
        keys = tmp_path / "keys.txt"
        keys.write_text("a\nb\nc\n")
        code, _, err = await run(
            *(BIN / "seeker", "submit", "--seeker", url, "--image", "x:1"),
            *("--keys-file", keys, "--require-label", "nowhere"),
        )
        assert code == 0, err
        assert f"seeker: {url}: no Seeker leads just now" in err
        assert "waiting up to 60 s for a Seeker to lead" in err
        assert await answer(http, "GET", f"{url}/healthz") == (
            200,
            {"status": "ok", "leader": upstreams[1]},
        )
        status, listed = await answer(http, "GET", f"{url}/api/v1/jobs")
        assert status == 200 and len(listed["jobs"]) == 3

        # The Giver dials again through the front, and reaches the new leader.
        await until(lambda: online(http, url), "the Giver's session with the new leader")

        changes = [line for line in fronted.front.log().splitlines() if " -> " in line]
        assert [line.rpartition("leader: ")[2] for line in changes] == [
            f"none -> {upstreams[0]}",
            f"{upstreams[0]} -> none",
            f"none -> {upstreams[1]}",
        ]
