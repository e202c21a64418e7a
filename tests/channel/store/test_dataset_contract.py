"""Datasets, one contract on every backend: SQLite on a file, MongoDB on a real FerretDB."""

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterable

import pytest
from support.results import stored_chunks

from channel.errors import (
    BadDatasetLine,
    BadDatasetName,
    DatasetExists,
    DatasetLineTooLarge,
    DatasetTooLarge,
    UnknownDataset,
)
from channel.store.base import Channel
from channel.store.factory import open_channel
from channel.store.ingest import SizeLimits
from channel.wire import canonical

LIMITS = SizeLimits(record_bytes=100_000, dataset_bytes=5_000_000)


@pytest.fixture
async def channel(store_url: str) -> AsyncIterator[Channel]:
    async with await open_channel(store_url, LIMITS) as opened:
        yield opened


async def lines_of(lines: Iterable[bytes]) -> AsyncIterator[bytes]:
    for line in lines:
        yield line


def big_rows(n: int) -> list[dict]:
    # Random text compresses to half at best, so these need several 255 KiB chunks.
    return [
        {"url": f"https://example.test/{i}", "page": os.urandom(20_000).hex()} for i in range(n)
    ]


async def test_a_dataset_round_trips_in_several_chunks(channel: Channel, store_url: str) -> None:
    rows = big_rows(60)
    sent = [
        b'{ "page": "%s",  "url": "%s" }' % (r["page"].encode(), r["url"].encode()) for r in rows
    ]
    sent.insert(3, b"")
    dataset = await channel.put_dataset("bob.links-1", lines_of(sent), uploaded_by="tok-bob")

    expected = [canonical.dumps(row) for row in rows]
    body = b"".join(line + b"\n" for line in expected)
    assert (dataset.name, dataset.uploaded_by, dataset.records) == ("bob.links-1", "tok-bob", 60)
    assert (dataset.size_bytes, dataset.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert await channel.dataset("bob.links-1") == dataset
    assert await channel.datasets() == [dataset]
    assert [line async for line in channel.dataset_lines("bob.links-1")] == expected
    assert await stored_chunks(store_url) > 3


async def test_a_dataset_is_immutable_until_deleted(channel: Channel, store_url: str) -> None:
    first = await channel.put_dataset("d", lines_of([b'{"n": 1}']), "tok-a")
    with pytest.raises(DatasetExists, match="delete it to upload anew"):
        await channel.put_dataset("d", lines_of([b'{"n": 2}']), "tok-a")
    assert [line async for line in channel.dataset_lines("d")] == [b'{"n":1}']

    assert await channel.delete_dataset("d") == first
    assert await channel.dataset("d") is None and await stored_chunks(store_url) == 0
    with pytest.raises(UnknownDataset, match="no dataset 'd'"):
        await channel.delete_dataset("d")
    with pytest.raises(UnknownDataset):
        await anext(channel.dataset_lines("d"))
    second = await channel.put_dataset("d", lines_of([b'{"n": 2}']), "tok-b")
    assert second.uploaded_by == "tok-b"
    assert [line async for line in channel.dataset_lines("d")] == [b'{"n":2}']


@pytest.mark.parametrize(
    ("last", "error", "message"),
    [
        (b"[1, 2]", BadDatasetLine, "line 62 is not a JSON object"),
        (b'{"n": ', BadDatasetLine, "line 62 is not valid JSON"),
        (b"x" * 100_001, DatasetLineTooLarge, "line 62 exceeds 100000 bytes"),
    ],
    ids=["array", "broken", "long"],
)
async def test_a_failed_upload_leaves_nothing(
    channel: Channel, store_url: str, last: bytes, error: type[Exception], message: str
) -> None:
    lines = [canonical.dumps(row) for row in big_rows(60)]
    with pytest.raises(error, match=message):
        await channel.put_dataset("d", lines_of([*lines, b"", last]), "tok")
    assert await channel.dataset("d") is None and await channel.datasets() == []
    assert await stored_chunks(store_url) == 0


async def test_an_upload_past_the_total_limit_leaves_nothing(
    channel: Channel, store_url: str
) -> None:
    lines = [canonical.dumps(row) for row in big_rows(200)]
    with pytest.raises(DatasetTooLarge, match="exceeds the limit of 5000000 bytes"):
        await channel.put_dataset("d", lines_of(lines), "tok")
    assert await channel.datasets() == [] and await stored_chunks(store_url) == 0


async def test_an_upload_cut_short_leaves_nothing(channel: Channel, store_url: str) -> None:
    async def cut() -> AsyncIterator[bytes]:
        for row in big_rows(60):
            yield canonical.dumps(row)
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await channel.put_dataset("d", cut(), "tok")
    assert await channel.datasets() == [] and await stored_chunks(store_url) == 0


async def test_of_two_uploads_of_one_name_the_first_to_finish_wins(
    channel: Channel, store_url: str
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        for row in big_rows(30):
            yield canonical.dumps(row)
        started.set()
        await release.wait()

    losing = asyncio.create_task(channel.put_dataset("d", slow(), "tok-slow"))
    await started.wait()
    winner = await channel.put_dataset("d", lines_of([b'{"n": 1}']), "tok-fast")
    release.set()
    with pytest.raises(DatasetExists):
        await losing
    assert await channel.datasets() == [winner]
    assert [line async for line in channel.dataset_lines("d")] == [b'{"n":1}']
    await channel.delete_dataset("d")
    assert await stored_chunks(store_url) == 0


async def test_an_empty_upload_is_an_empty_dataset(channel: Channel) -> None:
    dataset = await channel.put_dataset("empty", lines_of([b"", b"  "]), "tok")
    assert (dataset.records, dataset.size_bytes) == (0, 0)
    assert [line async for line in channel.dataset_lines("empty")] == []


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "a b", "ü", "x" * 101])
async def test_bad_names_are_refused(channel: Channel, name: str) -> None:
    with pytest.raises(BadDatasetName, match="1 to 100 letters"):
        await channel.put_dataset(name, lines_of([b"{}"]), "tok")
    with pytest.raises(BadDatasetName):
        await channel.dataset(name)
    assert await channel.datasets() == []


async def test_names_may_use_the_whole_alphabet(channel: Channel) -> None:
    names = ["A", "9", "_x", "-y", "a.b_c-D", "x" * 100]
    for name in names:
        await channel.put_dataset(name, lines_of([b"{}"]), "tok")
    assert [d.name for d in await channel.datasets()] == sorted(names)
