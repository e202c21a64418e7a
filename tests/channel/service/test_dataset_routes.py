"""Datasets over the Channel's HTTP service on loopback, over SQLite and FerretDB."""

import asyncio
import dataclasses
import hashlib
import os
import sys
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.results import stored_chunks

from channel.dataset_cli import TOKEN_ENV
from channel.errors import DatasetRefused
from channel.service.app import make_app
from channel.service.dataset_client import DatasetClient
from channel.store.base import Channel
from channel.store.factory import open_channel
from channel.store.ingest import SizeLimits
from channel.wire import canonical

LIMITS = SizeLimits(record_bytes=10_000, dataset_bytes=1_000_000)


@dataclasses.dataclass
class Service:
    channel: Channel
    store_url: str
    url: str
    http: aiohttp.ClientSession
    tokens: dict[str, str]

    def client(self, who: str) -> DatasetClient:
        return DatasetClient(self.url, self.tokens.get(who, who), self.http)

    async def call(self, method: str, path: str, who: str, data: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens.get(who, who)}"}
        async with self.http.request(
            method, f"{self.url}{path}", headers=headers, data=data
        ) as response:
            return response.status, await response.json()

    async def nothing_stored(self) -> bool:
        return await self.channel.datasets() == [] and await stored_chunks(self.store_url) == 0


@pytest.fixture
async def service(store_url: str) -> AsyncIterator[Service]:
    async with await open_channel(store_url, LIMITS) as channel:
        tokens = {
            "bob": (await channel.issue_reader(label="Bob", upload=True))[0],
            "sarah": (await channel.issue_reader(label="Sarah", datasets=("links",)))[0],
            "admin": (await channel.issue_reader(datasets=("*",), upload=True))[0],
            "carol": (await channel.issue_reader(label="Carol", upload=True))[0],
            "jobs-only": (await channel.issue_reader(jobs=("j1",)))[0],
        }
        runner = web.AppRunner(make_app(channel))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{runner.addresses[0][1]}"
                yield Service(channel, store_url, url, http, tokens)
        finally:
            await runner.cleanup()


async def streamed(lines: Iterable[bytes]) -> AsyncIterator[bytes]:
    """A body sent in pieces that cut lines anywhere, without a Content-Length."""
    body = b"".join(line + b"\n" for line in lines)
    for start in range(0, len(body), 777):
        yield body[start : start + 777]


def rows(n: int, size: int = 100) -> list[bytes]:
    return [
        b'{"url": "https://example.test/%d", "text": "%s"}' % (i, b"x" * size) for i in range(n)
    ]


async def test_bob_uploads_and_sarah_downloads(service: Service) -> None:
    sent = rows(500)
    dataset = await service.client("bob").put("links", streamed(sent))
    canonical_lines = [canonical.dumps(canonical.loads(line)) for line in sent]
    body = b"".join(line + b"\n" for line in canonical_lines)
    assert (dataset.name, dataset.records, dataset.size_bytes) == ("links", 500, len(body))
    assert dataset.sha256 == hashlib.sha256(body).hexdigest()

    sarah = service.client("sarah")
    assert b"".join([piece async for piece in sarah.download("links")]) == body
    assert await sarah.meta("links") == dataset
    assert await sarah.list() == [dataset]
    assert await service.client("bob").list() == [dataset]
    assert await service.client("carol").list() == []
    async with service.http.get(
        f"{service.url}/v1/datasets/links",
        headers={"Authorization": f"Bearer {service.tokens['sarah']}"},
    ) as response:
        assert response.headers["Content-Type"] == "application/x-ndjson"
        assert response.headers["X-Dataset-Records"] == "500"


async def test_reading_and_uploading_need_the_right_token(service: Service) -> None:
    await service.client("bob").put("links", streamed(rows(3)))
    await service.client("carol").put("carols", streamed(rows(3)))
    for method, path in [
        ("GET", "/v1/datasets"),
        ("GET", "/v1/datasets/links"),
        ("GET", "/v1/datasets/links/meta"),
        ("DELETE", "/v1/datasets/links"),
        ("PUT", "/v1/datasets/new"),
    ]:
        for who in ("", "sgr_not-a-token"):
            status, answer = await service.call(method, path, who, b"{}\n")
            assert (status, answer["code"]) == (401, "unauthorized"), (method, path)
    for who in ("sarah", "jobs-only"):
        status, answer = await service.call("PUT", "/v1/datasets/new", who, b"{}\n")
        assert (status, answer["code"]) == (403, "forbidden")
        assert "may not upload datasets" in answer["message"]
    # Outside a token's scope a dataset is forbidden whether it exists or not.
    for path in ("/v1/datasets/carols", "/v1/datasets/carols/meta", "/v1/datasets/absent"):
        status, answer = await service.call("GET", path, "sarah")
        assert (status, answer["code"]) == (403, "forbidden"), path
        assert "may not read dataset" in answer["message"]
    await service.client("bob").delete("links")
    status, answer = await service.call("GET", "/v1/datasets/links", "sarah")
    assert (status, answer["code"]) == (404, "unknown_dataset")
    status, answer = await service.call("GET", "/v1/datasets/.hidden/meta", "admin")
    assert (status, answer["code"]) == (400, "bad_dataset_name")


async def test_deleting_is_for_the_uploader_or_an_admin(service: Service) -> None:
    await service.client("bob").put("links", streamed(rows(3)))
    for who, status in (("sarah", 403), ("carol", 403)):
        with pytest.raises(DatasetRefused) as refused:
            await service.client(who).delete("links")
        assert refused.value.status == status
    removed = await service.client("bob").delete("links")
    assert removed.name == "links" and await service.nothing_stored()
    await service.client("carol").put("links", streamed(rows(3)))
    await service.client("admin").delete("links")
    assert await service.nothing_stored()


async def test_a_second_upload_of_a_name_conflicts(service: Service) -> None:
    first = await service.client("bob").put("links", streamed(rows(3)))
    with pytest.raises(DatasetRefused, match="delete it to upload anew") as refused:
        await service.client("carol").put("links", streamed(rows(5)))
    assert (refused.value.status, refused.value.code) == (409, "dataset_exists")
    assert [d.to_wire() for d in await service.channel.datasets()] == [first.to_wire()]


async def test_a_line_that_is_not_an_object_is_named(service: Service) -> None:
    for bad, reason in ((b"[1]", "is not a JSON object"), (b'{"a": ', "is not valid JSON")):
        with pytest.raises(DatasetRefused, match=f"line 302 {reason}") as refused:
            await service.client("bob").put("links", streamed([*rows(300), b"", bad, *rows(2)]))
        assert (refused.value.status, refused.value.code) == (400, "bad_dataset")
    assert await service.nothing_stored()


async def test_a_line_over_the_limit_is_refused_while_streaming(service: Service) -> None:
    with pytest.raises(DatasetRefused, match="line 301 exceeds 10000 bytes") as refused:
        await service.client("bob").put("links", streamed([*rows(300), *rows(1, 20_000)]))
    assert (refused.value.status, refused.value.code) == (413, "line_too_large")
    assert await service.nothing_stored()


async def test_a_dataset_over_the_limit_is_refused_while_streaming(service: Service) -> None:
    with pytest.raises(DatasetRefused, match="exceeds the limit of 1000000 bytes") as refused:
        await service.client("bob").put("links", streamed(rows(20_000)))
    assert (refused.value.status, refused.value.code) == (413, "dataset_too_large")
    assert await service.nothing_stored()


async def test_a_body_over_the_limit_is_refused_before_it_is_sent(service: Service) -> None:
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for line in rows(20_000):
            sent.append(len(line))
            yield line + b"\n"

    with pytest.raises(DatasetRefused, match="limit of 1000000 bytes") as refused:
        await service.client("bob").put("links", body(), size_bytes=2_000_000)
    assert refused.value.status == 413 and sent == []
    with pytest.raises(DatasetRefused, match="may not upload") as refused:
        await service.client("sarah").put("links", body(), size_bytes=1000)
    assert refused.value.status == 403 and sent == []
    assert await service.nothing_stored()


async def channel_cli(
    *args: str, token: str = "", stdin: bytes = b"", env_token: str = ""
) -> tuple[int, str, str]:
    """Run `channel dataset ARGS --channel URL` as a process; its exit code, stdout, stderr."""
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    if env_token:
        env[TOKEN_ENV] = env_token
    command = [str(Path(sys.executable).with_name("channel")), "dataset", *args]
    if token:
        command += ["--token", token]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_cli_puts_gets_lists_and_deletes(service: Service, tmp_path: Path) -> None:
    source = tmp_path / "links.jsonl"
    source.write_bytes(b"".join(line + b"\n" for line in rows(2_000)))
    at = ("--channel", service.url)
    bob, sarah = service.tokens["bob"], service.tokens["sarah"]

    code, out, err = await channel_cli("put", "links", str(source), *at, env_token=bob)
    assert (code, err) == (0, "") and out.startswith("links: 2000 records, ")
    code, out, _ = await channel_cli("put", "piped", "-", *at, token=bob, stdin=b'{"a": 1}\n')
    assert code == 0 and out.startswith("piped: 1 records, 8 bytes")

    copy = tmp_path / "copy.jsonl"
    code, out, _ = await channel_cli("get", "links", "-o", str(copy), *at, token=sarah)
    assert (code, out) == (0, f"links written to {copy}\n")
    expected = [canonical.dumps(canonical.loads(line)) for line in rows(2_000)]
    assert copy.read_bytes().splitlines() == expected
    code, out, _ = await channel_cli("get", "piped", *at, token=bob)
    assert (code, out) == (0, '{"a":1}\n')

    code, out, _ = await channel_cli("list", *at, token=bob)
    assert code == 0 and out.splitlines()[0] == "datasets: 2"
    assert [line.split(":")[0].strip() for line in out.splitlines()[1:]] == ["links", "piped"]
    code, out, _ = await channel_cli("delete", "piped", *at, token=bob)
    assert code == 0 and out.startswith("deleted piped: 1 records")
    assert [d.name for d in await service.channel.datasets()] == ["links"]


async def test_the_cli_says_what_went_wrong_in_one_line(service: Service, tmp_path: Path) -> None:
    at = ("--channel", service.url)
    bob, sarah = service.tokens["bob"], service.tokens["sarah"]
    bad = b'{"a": 1}\n[2]\n'
    work = tmp_path / "cli"
    work.mkdir()
    failures = [
        (("list", *at), "", b"", "no reader token: give --token or set SEEKGIVE_READER_TOKEN"),
        (("put", "x", "-", *at), bob, bad, "dataset x: line 2 is not a JSON object (400"),
        (("put", "x", str(work / "absent"), *at), bob, b"", "No such file or directory"),
        (("get", "links", "-o", str(work / "out"), *at), sarah, b"", "(404 unknown_dataset)"),
        (("delete", "links", *at), sarah, b"", "(404 unknown_dataset)"),
        (("list", *at), "sgr_wrong", b"", "(401 unauthorized)"),
    ]
    for args, token, stdin, message in failures:
        code, out, err = await channel_cli(*args, token=token, stdin=stdin)
        assert (code, out) == (1, ""), args
        assert err.startswith("channel: error: ") and message in err and err.count("\n") == 1, err
    assert await asyncio.to_thread(os.listdir, work) == [] and await service.nothing_stored()
