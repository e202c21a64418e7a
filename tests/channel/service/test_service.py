"""The Channel's HTTP service on loopback, over SQLite and FerretDB."""

import asyncio
import csv
import dataclasses
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from support.results import result_of

from channel.errors import ResultRejected
from channel.service.app import make_app
from channel.service.client import ChannelClient
from channel.store.base import Channel
from channel.store.factory import open_channel
from channel.store.ingest import SizeLimits, result_lines
from channel.store.rows import JobPolicy
from channel.wire import canonical
from channel.wire.identity import Identity
from channel.wire.signing import sign_result

LIMITS = SizeLimits(result_bytes=3_000_000, record_bytes=1_000_000)


@dataclasses.dataclass
class Service:
    channel: Channel
    url: str
    http: aiohttp.ClientSession
    giver: Identity

    @property
    def client(self) -> ChannelClient:
        return ChannelClient(self.url, self.http)

    token: str = ""

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if token is None else token}"}

    async def get_json(self, path: str, token: str | None = None) -> tuple[int, dict]:
        async with self.http.get(f"{self.url}{path}", headers=self.auth(token)) as response:
            return response.status, await response.json()

    async def get_bytes(self, path: str) -> bytes:
        async with self.http.get(f"{self.url}{path}", headers=self.auth()) as response:
            assert response.status == 200, await response.text()
            return await response.read()


@pytest.fixture
async def service(store_url: str) -> AsyncIterator[Service]:
    async with await open_channel(store_url, LIMITS) as channel:
        await channel.put_job(JobPolicy("j1"))
        giver = Identity.generate()
        await channel.register_giver(giver.id, giver.public_key)
        runner = web.AppRunner(make_app(channel))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            token, _ = await channel.issue_reader(label="tests", jobs=("j1",))
            async with aiohttp.ClientSession() as http:
                yield Service(channel, f"http://127.0.0.1:{port}", http, giver, token)
        finally:
            await runner.cleanup()


def pages(n: int, size: int) -> list[dict]:
    return [{"key": f"k{i}", "data": {"page": "x" * size, "n": i}} for i in range(n)]


async def stored(service: Service) -> list[str]:
    return [row.result_id async for row in service.channel.job_results("j1")]


async def test_a_posted_result_is_listed_paged_and_streamed(service: Service) -> None:
    results = [result_of(service.giver, f"r{n}", pages(3, 100), f"j1-{n:05d}.1") for n in range(5)]
    acks = [await service.client.post_result(r) for r in results]
    assert [await service.client.post_result(r) for r in results] == acks

    status, first = await service.get_json("/v1/jobs/j1/results?limit=2")
    assert status == 200 and [r["result_id"] for r in first["results"]] == ["r0", "r1"]
    _, rest = await service.get_json(f"/v1/jobs/j1/results?after={first['cursor']}")
    assert [r["result_id"] for r in rest["results"]] == ["r2", "r3", "r4"]
    assert rest["results"][0]["signature"] == results[2].signature
    assert rest["results"][0]["records"] == 3

    _, by_task = await service.get_json("/v1/tasks/j1-00003.1/results")
    assert [r["result_id"] for r in by_task["results"]] == ["r3"]
    lines = (await service.get_bytes("/v1/results/r3/records")).splitlines()
    assert [canonical.loads(line) for line in lines] == results[3].records
    status, missing = await service.get_json("/v1/results/nope")
    assert (status, missing["code"]) == (404, "not_found")


async def test_reading_needs_a_token_scoped_to_the_job(service: Service) -> None:
    await service.channel.put_job(JobPolicy("j2"))
    await service.client.post_result(result_of(service.giver, "r1", pages(1, 10)))
    other = dataclasses.replace(result_of(service.giver, "r2", pages(1, 10)), job_id="j2")
    await service.client.post_result(sign_result(service.giver, other))
    paths = ["/v1/jobs/j1/results", "/v1/jobs/j1/export", "/v1/results/r1"]
    for path in paths:
        for token in ("", "sgr_not-a-token"):
            status, answer = await service.get_json(path, token)
            assert (status, answer["code"]) == (401, "unauthorized"), path
    j2_only, reader = await service.channel.issue_reader(jobs=("j2",))
    for path in paths:
        status, answer = await service.get_json(path, j2_only)
        assert (status, answer["code"]) == (403, "forbidden"), path
        assert "may not read job j1" in answer["message"]
    _, by_task = await service.get_json("/v1/tasks/j1-00000.1/results", j2_only)
    assert [r["job_id"] for r in by_task["results"]] == ["j2"]
    assert (await service.get_json("/v1/results/r2", j2_only))[0] == 200

    everything, _ = await service.channel.issue_reader(jobs=("*",))
    assert (await service.get_json("/v1/jobs/j1/results", everything))[0] == 200
    revoked = await service.channel.revoke_reader(reader.token_id)
    assert revoked is not None and revoked.revoked
    assert (await service.get_json("/v1/results/r2", j2_only))[0] == 401


@pytest.mark.parametrize("query", ["after=-1", "after=x", "limit=0", "limit=1001"], ids=lambda q: q)
async def test_bad_page_queries_are_refused(service: Service, query: str) -> None:
    status, answer = await service.get_json(f"/v1/jobs/j1/results?{query}")
    assert (status, answer["code"]) == (400, "bad_query")


async def test_bad_results_are_refused_and_nothing_is_stored(service: Service) -> None:
    good = result_of(service.giver, "r1", pages(2, 10))
    forger = Identity.generate()
    bad = {
        "altered records": dataclasses.replace(good, records=pages(2, 11)),
        "forged": dataclasses.replace(sign_result(forger, good), giver_id=service.giver.id),
        "unregistered giver": sign_result(forger, good),
        "unknown job": sign_result(service.giver, dataclasses.replace(good, job_id="j9")),
    }
    for what, result in bad.items():
        with pytest.raises(ResultRejected) as refused:
            await service.client.post_result(result)
        assert refused.value.status == 403, what
    async with service.http.post(f"{service.url}/v1/results", data=b'{"result_id": 1}\n') as r:
        assert r.status == 400 and (await r.json())["code"] == "bad_result"
    assert await stored(service) == []


async def test_oversized_results_get_a_clear_413_and_nothing_is_stored(service: Service) -> None:
    too_big = result_of(service.giver, "big", pages(4, 900_000))
    with pytest.raises(ResultRejected, match="exceed the limit of 3000000") as refused:
        await service.client.post_result(too_big)
    assert refused.value.status == 413
    record_too_big = result_of(service.giver, "rec", [*pages(1, 10), *pages(1, 1_200_000)])
    with pytest.raises(ResultRejected, match="record 1 exceeds 1000000 bytes") as refused:
        await service.client.post_result(record_too_big)
    assert refused.value.status == 413

    # A record too long to hold in memory is refused before its end arrives.
    huge = result_of(service.giver, "huge", [*pages(1, 10), *pages(1, 5_000_000)])
    with pytest.raises(ResultRejected, match="record 1 exceeds 1000000 bytes") as refused:
        await service.client.post_result(huge)
    # A body announced larger than any result may be is refused before it is sent.
    announced = result_of(service.giver, "announced", pages(8, 1_000_000))
    with pytest.raises(ResultRejected, match=r"the body \(\d+ bytes\) exceeds the limit"):
        await service.client.post_result(announced)

    # Without a Content-Length the limit holds while the body streams.
    async def chunked() -> AsyncIterator[bytes]:
        for line in result_lines(result_of(service.giver, "many", pages(40, 90_000))):
            yield line + b"\n"

    async with service.http.post(f"{service.url}/v1/results", data=chunked()) as response:
        assert response.status == 413
        assert (await response.json())["code"] == "result_too_large"
    assert await stored(service) == []


async def test_a_large_result_round_trips_over_http(service: Service) -> None:
    records = [{"key": f"k{n}", "data": {"page": os.urandom(100_000).hex()}} for n in range(12)]
    result = result_of(service.giver, "big", records)
    await service.client.post_result(result)
    lines = (await service.get_bytes("/v1/results/big/records")).splitlines()
    assert [canonical.loads(line) for line in lines] == records


async def test_a_job_exports_as_json_lines_and_csv(service: Service) -> None:
    await service.client.post_result(
        result_of(
            service.giver,
            "r1",
            [
                {"key": "a", "data": {"title": "Dune, part 1", "price": 10}},
                {"key": "b", "data": {"title": 'say "hi"', "tags": ["x", "y"], "new": True}},
            ],
        )
    )
    await service.client.post_result(
        result_of(service.giver, "r2", [{"key": "c", "data": {"price": 3.5}}], "j1-00001.1")
    )
    jsonl = (await service.get_bytes("/v1/jobs/j1/export")).splitlines()
    assert [canonical.loads(line)["key"] for line in jsonl] == ["a", "b", "c"]

    rows = list(
        csv.reader(io.StringIO((await service.get_bytes("/v1/jobs/j1/export?format=csv")).decode()))
    )
    assert rows == [
        ["key", "price", "title", "new", "tags"],
        ["a", "10", "Dune, part 1", "", ""],
        ["b", "", 'say "hi"', "true", '["x","y"]'],
        ["c", "3.5", "", "", ""],
    ]
    chosen = await service.get_bytes("/v1/jobs/j1/export?format=csv&fields=price")
    assert chosen.decode().splitlines() == ["key,price", "a,10", "b,", "c,3.5"]
    status, answer = await service.get_json("/v1/jobs/j1/export?format=xml")
    assert (status, answer["code"]) == (400, "bad_query")


async def test_the_service_sweeps_expired_results_away(tmp_path: Path) -> None:
    async with await open_channel(f"sqlite:///{tmp_path}/channel.sqlite3") as channel:
        await channel.put_job(JobPolicy("j1", retention_s=0.2))
        await channel.put_job(JobPolicy("kept"))
        giver = Identity.generate()
        await channel.register_giver(giver.id, giver.public_key)
        await channel.put_result(result_of(giver, "brief", pages(1, 10)))
        kept = dataclasses.replace(result_of(giver, "kept", pages(1, 10)), job_id="kept")
        await channel.put_result(sign_result(giver, kept))
        runner = web.AppRunner(make_app(channel, sweep_interval_s=0.05))
        await runner.setup()
        try:
            async with asyncio.timeout(30):
                while await channel.result("brief") is not None:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            await runner.cleanup()
        assert await channel.result("kept") is not None
