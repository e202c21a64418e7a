"""Driving a Seeker through its JSON API as the tests do: tokens, jobs submitted
and followed, records exported, Givers listed and registered."""

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from channel.wire import canonical
from channel.wire.givers import Capabilities, GiverInfo
from channel.wire.identity import Identity
from seeker.cli.client import SeekerClient
from seeker.daemon import Seeker
from seeker.work.history import Run
from support.base import JOB_TIMEOUT_S, OPERATOR_HEADERS, OPERATOR_TOKEN, POLL_S, until


async def issue_token(seeker_url: str, **body: object) -> str:
    """A new admission token from the Seeker at `seeker_url` (through its API)."""
    async with SeekerClient(seeker_url, token=OPERATOR_TOKEN) as client:
        return str((await client.issue_token(body))["token"])


Grid = Callable[..., Any]


def grid_stores(request: pytest.FixtureRequest, store: str) -> dict[str, str]:
    """The grid's Channel and state on `store`: SQLite files (the default) or FerretDB."""
    if store == "sqlite":
        return {}
    url = request.getfixturevalue("mongo_url")
    return {"store_url": url, "state_url": url}


async def submit_and_wait(seeker: Seeker, body: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.post(f"{seeker.url}/api/v1/jobs", data=canonical.dumps(body)) as r:
            assert r.status == 201, await r.text()
            job = await r.json()
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while job["status"] != "done":
                await asyncio.sleep(POLL_S)
                async with http.get(f"{seeker.url}/api/v1/jobs/{job['job_id']}") as r:
                    job = await r.json()
        return job


async def export(seeker: Seeker, job_id: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/jobs/{job_id}/records") as response:
            assert response.status == 200
            return [canonical.loads(line) for line in (await response.read()).splitlines()]


async def counted_runs(seeker: Seeker, job_id: str) -> list[Run]:
    assert seeker.coordinator is not None
    return [run async for block in seeker.coordinator.keys.blocks(job_id) for run in block.runs]


async def runs_by_block(seeker: Seeker, job_id: str) -> dict[str, list[Run]]:
    """The counted runs of a job, by the block their copies ran."""
    by_block: dict[str, list[Run]] = {}
    for run in await counted_runs(seeker, job_id):
        by_block.setdefault(run.task_id.rpartition(".")[0], []).append(run)
    return by_block


def catalog_job(image: str, site_url: str, **fields: Any) -> dict[str, Any]:
    """A job of the catalog scraper over products 1 to 20 of the demo shop, in 4 blocks;
    it reaches the shop through the egress gateway, so its Givers must allow the shop
    (`allow_local=(egress.site(site_url),)`)."""
    return {
        "image": image,
        "range": [1, 21],
        "block_size": 5,
        "network": "bridge",
        "settings": {"base_url": site_url},
        **fields,
    }


def disputed_job(image: str, **fields: Any) -> dict[str, Any]:
    """A job of the faulty scraper whose two copies of each of its 2 blocks return
    different records (`random` mode), with no extra copy to settle it: every key
    fails for want of a quorum."""
    return {
        "image": image,
        "keys": ["a", "b", "c", "d"],
        "block_size": 2,
        "settings": {"mode": "random"},
        "replicas": 2,
        "quorum": 2,
        "max_extra_copies": 0,
        **fields,
    }


async def submit(seeker: Seeker, body: dict[str, Any]) -> str:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.post(f"{seeker.url}/api/v1/jobs", data=canonical.dumps(body)) as r:
            assert r.status == 201, await r.text()
            return (await r.json())["job_id"]


async def job_state(seeker: Seeker, job_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/jobs/{job_id}") as response:
            return await response.json()


async def wait_until_done(seeker: Seeker, job_id: str) -> dict[str, Any]:
    """The job once it is done."""
    return await until(
        lambda: job_state(seeker, job_id), f"job {job_id}", holds=lambda j: j["status"] == "done"
    )


async def givers_view(seeker: Seeker) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/givers") as response:
            assert response.status == 200
            return (await response.json())["givers"]


async def online_givers(seeker: Seeker) -> list[dict[str, Any]]:
    """The Seeker's view of its Givers once one has its session open."""
    return await until(
        lambda: givers_view(seeker), "a Giver online", holds=lambda v: any(g["online"] for g in v)
    )


CAPS = Capabilities(
    cpus=2, memory_bytes=2**30, arch="amd64", os="linux", docker_version="20.10", slots=1
)


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, Any]:
    data = raw if raw is not None else canonical.dumps(body)
    async with http.request(method, url, data=data) as response:
        return response.status, canonical.loads(await response.read())


def registration(identity: Identity, token: str = "", **changes: Any) -> dict[str, Any]:
    """A Giver's signed registration body (its description changed by `changes`),
    with an admission token if given."""
    info = GiverInfo(
        giver_id=identity.id,
        public_key=identity.public_key,
        name="test",
        capabilities=CAPS,
        signed_at=time.time(),
    )
    info = dataclasses.replace(info, **changes)
    body = {"giver": info.to_wire(), "signature": identity.sign_value(info.to_wire())}
    return {**body, "token": token} if token else body


async def job_at(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def wait_for(
    http: aiohttp.ClientSession, url: str, done: Any, timeout_s: float = JOB_TIMEOUT_S
) -> dict[str, Any]:
    return await until(
        lambda: job_at(http, url), f"the job at {url}", holds=done, timeout_s=timeout_s
    )
