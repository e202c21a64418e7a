"""Results a Channel keeps whole after taking them in, on every backend: read back
once from memory, the same as the store gives, never a result the store refused,
and within their budget."""

from collections.abc import AsyncIterator

import pytest

from channel.errors import ResultConflict
from channel.store import base
from channel.store.base import Channel
from channel.store.factory import open_channel
from channel.store.ingest import Intake, KeptResults, SizeLimits, header_line
from channel.store.rows import JobPolicy, StoredResult
from channel.wire.identity import Identity
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result


@pytest.fixture
async def kept(store_url: str) -> AsyncIterator[tuple[Channel, Identity]]:
    """A Channel keeping what it takes in, and a Giver registered there."""
    async with await open_channel(store_url) as channel:
        channel.keep_results(1024 * 1024)
        await channel.put_job(JobPolicy("j1"))
        giver = Identity.generate()
        await channel.register_giver(giver.id, giver.public_key)
        yield channel, giver


def result(identity: Identity, result_id: str, value: int = 1) -> Result:
    return sign_result(
        identity,
        Result(
            result_id=result_id,
            task_id="j1-000000.0",
            job_id="j1",
            giver_id="",
            records=[{"key": "k1", "data": {"value": value}}],
            outcomes=[KeyOutcome("k1", True), KeyOutcome("k2", False, "not found")],
            error=None,
            started_at=1.5,
            finished_at=2.5,
        ),
    )


async def row_of(channel: Channel, result_id: str) -> StoredResult:
    row = await channel.result(result_id)
    assert row is not None
    return row


async def test_a_kept_result_loads_once_from_memory_as_the_store_gives_it(
    kept: tuple[Channel, Identity], monkeypatch: pytest.MonkeyPatch
) -> None:
    channel, giver = kept
    inflated: list[int] = []
    real = base.inflate

    def inflate(chunks: list[bytes]) -> list[bytes]:
        inflated.append(len(chunks))
        return real(chunks)

    monkeypatch.setattr(base, "inflate", inflate)
    posted = result(giver, "r1")
    await channel.put_result(posted)
    row = await row_of(channel, "r1")
    from_memory = await channel.load(row)
    assert inflated == []
    from_store = await channel.load(row)
    assert inflated == [1] and from_memory == from_store == posted


async def test_a_result_refused_as_a_conflict_is_not_what_loads(
    kept: tuple[Channel, Identity],
) -> None:
    channel, giver = kept
    first = result(giver, "r1", value=1)
    await channel.put_result(first)
    with pytest.raises(ResultConflict):
        await channel.put_result(result(giver, "r1", value=2))
    assert await channel.load(await row_of(channel, "r1")) == first


def test_the_oldest_kept_results_go_first_past_the_budget() -> None:
    identity, kept = Identity.generate(), KeptResults(max_bytes=100)
    # Each holds 33 bytes of records (a newline each): the budget holds three.
    rows = [keep(kept, result(identity, f"r{n}")) for n in range(3)]
    assert [kept.take(r) is not None for r in rows] == [True, True, True]
    # A fourth drops the oldest.
    rows = [keep(kept, result(identity, f"s{n}")) for n in range(4)]
    assert [kept.take(r) is not None for r in rows] == [False, True, True, True]


def keep(kept: KeptResults, taken: Result) -> StoredResult:
    """Keep `taken` (one record) as a Channel would; the row it is stored as."""
    intake = Intake(taken, SizeLimits(), sealed=False, keep=True)
    intake.add([b'{"data":{"value":1},"key":"k1"}'])
    kept.keep(intake, header_line(taken))
    return StoredResult(
        result_id=taken.result_id,
        task_id=taken.task_id,
        job_id=taken.job_id,
        giver_id=taken.giver_id,
        received_at=0.0,
        expires_at=None,
        header=header_line(taken),
        records=1,
        size_bytes=intake.size_bytes,
        inline=None,
    )
