"""One contract, every backend: SQLite on a file, MongoDB on a real FerretDB."""

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channel.base import Channel
from channel.errors import BadStoreUrl, InvalidResult, ResultConflict, ResultTooLarge
from channel.factory import open_channel
from channel.identity import Identity
from channel.models import KeyOutcome, Result
from channel.signing import sign_result


@pytest.fixture(params=["sqlite", "mongodb"])
async def channel(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Channel]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/channel.sqlite3"
    else:
        url = request.getfixturevalue("mongo_url")
    async with await open_channel(url) as opened:
        yield opened


@pytest.fixture
async def giver(channel: Channel) -> Identity:
    identity = Identity.generate()
    await channel.register_giver(identity.id, identity.public_key)
    return identity


def make_result(
    identity: Identity,
    result_id: str,
    task_id: str = "j1-00000",
    job_id: str = "j1",
    value: int = 1,
) -> Result:
    return sign_result(
        identity,
        Result(
            result_id=result_id,
            task_id=task_id,
            job_id=job_id,
            giver_id="",
            records=[{"key": "k1", "data": {"value": value, "name": "Ünïcode ✓"}}],
            outcomes=[KeyOutcome("k1", True), KeyOutcome("k2", False, "not found")],
            error=None,
            started_at=1.5,
            finished_at=2.5,
        ),
    )


async def test_result_round_trips(channel: Channel, giver: Identity) -> None:
    result = make_result(giver, "r1")
    ack = await channel.put_result(result)
    assert ack.result_id == "r1"
    assert await channel.results_for_tasks(["j1-00000"]) == [result]
    assert await channel.results_for_job("j1") == [result]


async def test_posting_again_returns_the_same_ack(channel: Channel, giver: Identity) -> None:
    result = make_result(giver, "r1")
    first = await channel.put_result(result)
    assert await channel.put_result(result) == first
    assert len(await channel.results_for_tasks(["j1-00000"])) == 1


async def test_same_id_with_other_content_conflicts(channel: Channel, giver: Identity) -> None:
    original = make_result(giver, "r1", value=1)
    await channel.put_result(original)
    with pytest.raises(ResultConflict):
        await channel.put_result(make_result(giver, "r1", value=2))
    assert await channel.results_for_tasks(["j1-00000"]) == [original]


async def test_unregistered_giver_is_refused(channel: Channel) -> None:
    stranger = Identity.generate()
    with pytest.raises(InvalidResult, match="not registered"):
        await channel.put_result(make_result(stranger, "r1"))
    assert await channel.results_for_job("j1") == []


async def test_altered_records_are_refused(channel: Channel, giver: Identity) -> None:
    result = make_result(giver, "r1")
    altered = dataclasses.replace(result, records=[{"key": "k1", "data": {"value": 666}}])
    with pytest.raises(InvalidResult, match="digest"):
        await channel.put_result(altered)
    assert await channel.results_for_job("j1") == []


async def test_altered_header_is_refused(channel: Channel, giver: Identity) -> None:
    result = make_result(giver, "r1")
    altered = dataclasses.replace(result, outcomes=[KeyOutcome("k2", True)])
    with pytest.raises(InvalidResult, match="signature"):
        await channel.put_result(altered)
    assert await channel.results_for_job("j1") == []


async def test_result_signed_by_another_key_is_refused(channel: Channel, giver: Identity) -> None:
    forger = Identity.generate()
    forged = dataclasses.replace(make_result(forger, "r1"), giver_id=giver.id)
    with pytest.raises(InvalidResult, match="signature"):
        await channel.put_result(forged)
    assert await channel.results_for_job("j1") == []


async def test_job_results_page_in_id_order(channel: Channel, giver: Identity) -> None:
    for n in (3, 1, 4, 2, 5):
        await channel.put_result(make_result(giver, f"r{n}", task_id=f"j1-{n:05d}"))
    await channel.put_result(make_result(giver, "r9", job_id="j2", task_id="j2-00000"))
    first = await channel.results_for_job("j1", limit=2)
    rest = await channel.results_for_job("j1", after=first[-1].result_id)
    assert [r.result_id for r in first + rest] == ["r1", "r2", "r3", "r4", "r5"]


async def test_results_of_several_tasks(channel: Channel, giver: Identity) -> None:
    for n in range(4):
        await channel.put_result(make_result(giver, f"r{n}", task_id=f"j1-{n:05d}"))
    found = await channel.results_for_tasks(["j1-00001", "j1-00003", "j1-00009"])
    assert sorted(r.task_id for r in found) == ["j1-00001", "j1-00003"]
    assert await channel.results_for_tasks([]) == []


async def test_close_twice_is_harmless(channel: Channel) -> None:
    await channel.close()
    await channel.close()


async def test_unknown_store_scheme_is_a_clear_error() -> None:
    with pytest.raises(BadStoreUrl, match="expected sqlite"):
        await open_channel("postgres://db/x")


async def test_result_too_large_for_mongodb_is_refused_clearly(mongo_url: str) -> None:
    async with await open_channel(mongo_url) as channel:
        giver = Identity.generate()
        await channel.register_giver(giver.id, giver.public_key)
        big = sign_result(
            giver,
            Result(
                result_id="big",
                task_id="j1-00000",
                job_id="j1",
                giver_id="",
                records=[{"key": "k1", "data": {"page": "x" * (17 * 1024 * 1024)}}],
                outcomes=[KeyOutcome("k1", True)],
                error=None,
                started_at=0.0,
                finished_at=1.0,
            ),
        )
        with pytest.raises(ResultTooLarge, match="too large"):
            await channel.put_result(big)
        assert await channel.results_for_job("j1") == []
