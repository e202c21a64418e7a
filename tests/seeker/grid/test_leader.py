"""The leader lease: taken atomically, one Seeker schedules, another takes over.

The last test runs two `seeker run` processes on one FerretDB store behind
`seeker front`, which forwards to whichever Seeker answers `GET /api/v1/leader`
with 200. Real Givers run real containers through it; the leader is killed with
SIGKILL mid-job, the other takes over, and every block ran exactly once.
"""

import asyncio
import signal
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
from support.api import issue_token, job_at
from support.base import OPERATOR_HEADERS, OPERATOR_TOKEN, until
from support.processes import leader_config, seekers_behind_front

from channel.store.base import SETTLE_S
from channel.store.factory import open_channel
from giver.daemon import Giver
from giver.terms.config import GiverConfig
from seeker.cli.client import SeekerClient
from seeker.daemon import Seeker
from seeker.state.factory import open_state
from seeker.work.blocks import block_id_of_task

TAKEOVER_TIMEOUT_S = 30.0
POLL_S = 0.1


@pytest.mark.parametrize("store", ["sqlite", "mongodb"])
async def test_the_lease_goes_to_one_holder_at_a_time(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        request.getfixturevalue("mongo_url")
        if store == "mongodb"
        else f"sqlite:///{tmp_path}/state.sqlite3"
    )
    state = await open_state(url)
    try:
        now = time.time()
        takes = [state.take_leader(f"s{n}", f"http://s{n}", now, 10.0) for n in range(20)]
        holders = {leader.holder for leader in await asyncio.gather(*takes)}
        assert len(holders) == 1
        (holder,) = holders
        other = "s1" if holder != "s1" else "s2"
        assert (await state.take_leader(other, "x", now + 9.0, 10.0)).holder == holder
        renewed = await state.take_leader(holder, f"http://{holder}", now + 9.0, 10.0)
        assert (renewed.holder, renewed.expires_at) == (holder, now + 19.0)
        taken = await state.take_leader(other, "http://other", now + 19.5, 10.0)
        assert (taken.holder, taken.url) == (other, "http://other")
    finally:
        await state.close()


async def test_a_seeker_standing_by_refuses_work_then_takes_over(
    tmp_path: Path, mongo_url: str
) -> None:
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession(headers=OPERATOR_HEADERS))
        first = await stack.enter_async_context(Seeker(leader_config(tmp_path, "a", mongo_url)))
        second = await stack.enter_async_context(Seeker(leader_config(tmp_path, "b", mongo_url)))
        assert first.leadership and first.leadership.leading
        assert second.leadership and not second.leadership.leading
        async with http.get(f"{second.url}/api/v1/leader") as response:
            assert response.status == 503
            body = await response.json()
            assert (body["holder"], body["url"]) == (first.leadership.holder, first.url)
        async with http.post(f"{second.url}/api/v1/jobs", json={"image": "x:1"}) as response:
            assert response.status == 503 and response.headers["Retry-After"]
            error = await response.json()
            assert error["code"] == "not_leader" and first.url in error["message"]
        body = {"image": "x:1", "range": [0, 10]}
        async with http.post(f"{first.url}/api/v1/jobs", json=body) as response:
            assert response.status == 201
            job_id = (await response.json())["job_id"]
        await first.stop()
        async with asyncio.timeout(TAKEOVER_TIMEOUT_S):
            while not second.leadership.leading:  # noqa: ASYNC110
                await asyncio.sleep(POLL_S)
        job = await job_at(http, f"{second.url}/api/v1/jobs/{job_id}")
        assert job["keys"]["pending"] == 10


async def test_when_the_leader_dies_the_other_seeker_finishes_the_job_running_no_block_twice(
    tmp_path: Path, mongo_url: str, faulty_image: str
) -> None:
    async with AsyncExitStack() as stack:
        fronted = await stack.enter_async_context(seekers_behind_front(tmp_path, mongo_url))
        # Admissions and the Seeker key live in the shared store: the Seeker taking
        # over knows these Givers, and signs with the key they pinned.
        token = await issue_token(fronted.url, uses=2)
        for n in range(2):
            await stack.enter_async_context(
                Giver(
                    GiverConfig(
                        seeker_url=fronted.url,
                        data_dir=tmp_path / f"giver-{n}",
                        slots=2,
                        progress_interval_s=0.2,
                        reconnect_max_s=0.5,
                        outbox_retry_max_s=0.5,
                        token=token,
                    )
                )
            )
        body = {
            "image": faulty_image,
            "range": [0, 24],
            "block_size": 2,
            "settings": {"mode": "slow", "seconds": 1},
            "limits": {"timeout_s": 20},
        }
        # The client waits out the takeover (503 no_leader from the front).
        client = await stack.enter_async_context(SeekerClient(fronted.url, token=OPERATOR_TOKEN))
        job_id = (await client.submit(body))["job_id"]
        await until(
            lambda: client.job(job_id),
            "6 keys done and more leased",
            holds=lambda job: job["keys"]["done"] >= 6 and job["keys"]["leased"] > 0,
        )
        leader = fronted.seekers[0]
        leader.send_signal(signal.SIGKILL)
        await asyncio.to_thread(leader.wait)
        job = await until(
            lambda: client.job(job_id), "the job done", holds=lambda job: job["status"] == "done"
        )
        assert job["keys"] == {"total": 24, "done": 24, "failed": 0, "leased": 0, "pending": 0}

    async with await open_channel(mongo_url) as channel:
        # Every result stored, read past the numbering gap a batch cut short by the
        # kill may leave (a follower waits SETTLE_S at it; this reader need not).
        page = await channel.results_page(job_id, now=time.time() + SETTLE_S + 1)
        results = page.results
    runs = Counter(block_id_of_task(r.task_id) for r in results)
    assert len(runs) == 12 and set(runs.values()) == {1}, runs
    seekers_log = (tmp_path / "seekers.log").read_text()
    taken_over = [line for line in seekers_log.splitlines() if "holds the leader lease" in line]
    assert len(taken_over) == 2
