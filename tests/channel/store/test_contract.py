"""One contract, every backend: SQLite on a file, MongoDB on a real FerretDB."""

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from channel.errors import (
    BadStoreUrl,
    InvalidResult,
    RecordTooLarge,
    ResultConflict,
    ResultTooLarge,
    StoreUnavailable,
    UnknownJob,
    WireError,
)
from channel.store.base import SETTLE_S, Channel
from channel.store.factory import open_channel
from channel.store.ingest import Intake, SizeLimits
from channel.store.readers import Reader
from channel.store.rows import JobPolicy
from channel.wire import canonical
from channel.wire.identity import Identity
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result
from channel.wire.tokens import digest


@pytest.fixture
async def channel(store_url: str) -> AsyncIterator[Channel]:
    async with await open_channel(store_url) as opened:
        await opened.put_job(JobPolicy("j1"))
        await opened.put_job(JobPolicy("j2"))
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
    records: list[dict] | None = None,
) -> Result:
    return sign_result(
        identity,
        Result(
            result_id=result_id,
            task_id=task_id,
            job_id=job_id,
            giver_id="",
            records=records or [{"key": "k1", "data": {"value": value, "name": "Ünïcode ✓"}}],
            outcomes=[KeyOutcome("k1", True), KeyOutcome("k2", False, "not found")],
            error=None,
            started_at=1.5,
            finished_at=2.5,
        ),
    )


async def stored_ids(channel: Channel, job_id: str = "j1") -> list[str]:
    return [row.result_id async for row in channel.job_results(job_id)]


async def test_result_round_trips(channel: Channel, giver: Identity) -> None:
    result = make_result(giver, "r1")
    ack = await channel.put_result(result)
    assert ack.result_id == "r1"
    assert await channel.results_for_tasks(["j1-00000"]) == [result]
    [row] = (await channel.results_page("j1")).results
    assert (row.result_id, row.seq, row.records) == ("r1", 1, 1)
    assert await channel.load(row) == result


async def test_a_failed_results_log_is_stored_with_it(channel: Channel, giver: Identity) -> None:
    failed = dataclasses.replace(
        make_result(giver, "r1"),
        error="scraper exited with code 3",
        log="starting\nValueError: ü\n" * 1000,
        image_id="sha256:" + "ab" * 32,
    )
    result = sign_result(giver, failed)
    await channel.put_result(result)
    [stored] = await channel.results_for_tasks(["j1-00000"])
    assert (stored.log, stored.image_id) == (result.log, result.image_id)
    [row] = (await channel.results_page("j1")).results
    assert row.to_wire()["log"] == result.log


async def test_posting_again_returns_the_same_ack(channel: Channel, giver: Identity) -> None:
    result = make_result(giver, "r1")
    first = await channel.put_result(result)
    assert await channel.put_result(result) == first
    assert await channel.put_results([result, result]) == [first, first]
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
    assert await stored_ids(channel) == []


async def test_result_of_an_unknown_job_is_refused(channel: Channel, giver: Identity) -> None:
    with pytest.raises(UnknownJob, match="j9"):
        await channel.put_result(make_result(giver, "r1", job_id="j9", task_id="j9-00000"))
    assert await channel.results_for_tasks(["j9-00000"]) == []


async def test_altered_records_are_refused(channel: Channel, giver: Identity) -> None:
    result = make_result(giver, "r1")
    altered = dataclasses.replace(result, records=[{"key": "k1", "data": {"value": 666}}])
    with pytest.raises(InvalidResult, match="digest"):
        await channel.put_result(altered)
    assert await stored_ids(channel) == []


async def test_altered_header_is_refused(channel: Channel, giver: Identity) -> None:
    result = make_result(giver, "r1")
    altered = dataclasses.replace(result, outcomes=[KeyOutcome("k2", True)])
    with pytest.raises(InvalidResult, match="signature"):
        await channel.put_result(altered)
    assert await stored_ids(channel) == []


async def test_result_signed_by_another_key_is_refused(channel: Channel, giver: Identity) -> None:
    forger = Identity.generate()
    forged = dataclasses.replace(make_result(forger, "r1"), giver_id=giver.id)
    with pytest.raises(InvalidResult, match="signature"):
        await channel.put_result(forged)
    assert await stored_ids(channel) == []


async def test_a_sealed_job_refuses_plain_records(channel: Channel, giver: Identity) -> None:
    await channel.put_job(JobPolicy("sealed", sealed=True))
    plain = make_result(giver, "r1", job_id="sealed", task_id="sealed-00000")
    with pytest.raises(WireError, match="must be sealed"):
        await channel.put_result(plain)
    sealed = make_result(
        giver,
        "r2",
        job_id="sealed",
        task_id="sealed-00000",
        records=[{"key": "k1", "sealed": "AAAA"}],
    )
    await channel.put_result(sealed)
    assert await stored_ids(channel, "sealed") == ["r2"]


async def test_a_job_keeps_the_policy_it_was_first_given(channel: Channel) -> None:
    first = await channel.put_job(JobPolicy("j3", retention_s=60.0))
    assert await channel.put_job(JobPolicy("j3", retention_s=1.0, sealed=True)) == first
    assert await channel.job("j3") == JobPolicy("j3", retention_s=60.0)


async def test_size_limits_refuse_and_store_nothing(store_url: str) -> None:
    limits = SizeLimits(result_bytes=10_000, record_bytes=2_000)
    async with await open_channel(store_url, limits) as channel:
        await channel.put_job(JobPolicy("j1"))
        giver = Identity.generate()
        await channel.register_giver(giver.id, giver.public_key)
        one_big = [{"key": "k1", "data": {"page": "x" * 3_000}}]
        with pytest.raises(RecordTooLarge, match="record 0 exceeds 2000 bytes"):
            await channel.put_result(make_result(giver, "r1", records=one_big))
        many = [{"key": f"k{n}", "data": {"page": "x" * 1_500}} for n in range(8)]
        with pytest.raises(ResultTooLarge, match="limit of 10000 bytes"):
            await channel.put_result(make_result(giver, "r2", records=many))
        assert await stored_ids(channel) == []


async def test_large_results_go_in_chunks_and_come_back_whole(
    channel: Channel, giver: Identity
) -> None:
    # Random text does not compress, so this needs several chunks.
    records = [{"key": f"k{n}", "data": {"page": os.urandom(60_000).hex()}} for n in range(50)]
    result = make_result(giver, "big", records=records)
    await channel.put_result(result)
    [row] = (await channel.results_page("j1")).results
    assert row.inline is None
    assert row.records == 50 and row.size_bytes > 6_000_000
    assert await channel.results_for_tasks(["j1-00000"]) == [result]


async def test_records_are_stored_compressed(channel: Channel, giver: Identity) -> None:
    records = [{"key": f"k{n}", "data": {"page": "the same words " * 100}} for n in range(20)]
    await channel.put_result(make_result(giver, "r1", records=records))
    [row] = (await channel.results_page("j1")).results
    assert row.inline is not None
    assert len(row.inline) * 20 < row.size_bytes


async def test_pages_follow_storage_order(channel: Channel, giver: Identity) -> None:
    for n in (3, 1, 4, 2, 5):
        await channel.put_result(make_result(giver, f"r{n}", task_id=f"j1-{n:05d}"))
    await channel.put_result(make_result(giver, "r9", job_id="j2", task_id="j2-00000"))
    first = await channel.results_page("j1", limit=2)
    rest = await channel.results_page("j1", after=first.cursor)
    assert [r.result_id for r in first.results + rest.results] == ["r3", "r1", "r4", "r2", "r5"]
    assert (await channel.results_page("j1", after=rest.cursor)).results == []
    assert (await channel.results_page("j1", after=rest.cursor)).cursor == rest.cursor


async def test_paging_while_results_arrive_sees_each_once(
    channel: Channel, giver: Identity
) -> None:
    results = [make_result(giver, f"r{n:03d}", task_id=f"j1-{n:05d}") for n in range(120)]
    await channel.put_results(results[:40])
    writing = asyncio.create_task(channel.put_results(results[40:]))
    seen: list[str] = []
    cursor = 0
    while True:
        page = await channel.results_page("j1", after=cursor, limit=7)
        seen += [row.result_id for row in page.results]
        cursor = page.cursor
        if writing.done() and not page.results:
            break
        await asyncio.sleep(0)
    await writing
    assert sorted(seen) == sorted(r.result_id for r in results)
    assert len(seen) == len(set(seen))


async def test_results_of_several_tasks(channel: Channel, giver: Identity) -> None:
    for n in range(4):
        await channel.put_result(make_result(giver, f"r{n}", task_id=f"j1-{n:05d}"))
    found = await channel.results_for_tasks(["j1-00001", "j1-00003", "j1-00009"])
    assert sorted(r.task_id for r in found) == ["j1-00001", "j1-00003"]
    assert await channel.results_for_tasks([]) == []


async def test_sweep_removes_only_what_expired(channel: Channel, giver: Identity) -> None:
    await channel.put_job(JobPolicy("brief", retention_s=60.0))
    await channel.put_job(JobPolicy("long", retention_s=3600.0))
    big = [{"key": f"k{n}", "data": {"page": os.urandom(60_000).hex()}} for n in range(10)]
    for job_id in ("brief", "long", "j1"):
        await channel.put_result(make_result(giver, f"{job_id}-r", f"{job_id}-00000", job_id))
        await channel.put_result(
            make_result(giver, f"{job_id}-big", f"{job_id}-00001", job_id, records=big)
        )
    [row] = await channel.result_rows(["brief-00001"])
    assert row.expires_at == pytest.approx(row.received_at + 60.0, abs=0.01)
    assert await channel.sweep(row.received_at + 30.0) == 0
    assert await channel.sweep(row.received_at + 120.0) == 2
    assert await stored_ids(channel, "brief") == []
    assert await stored_ids(channel, "long") == ["long-r", "long-big"]
    assert await stored_ids(channel, "j1") == ["j1-r", "j1-big"]
    with pytest.raises(StoreUnavailable, match="brief-big are missing"):
        await anext(channel._chunks("brief-big"))
    assert len(await channel.results_for_tasks(["long-00001"])) == 1


async def test_close_twice_is_harmless(channel: Channel) -> None:
    await channel.close()
    await channel.close()


async def test_unknown_store_scheme_is_a_clear_error() -> None:
    with pytest.raises(BadStoreUrl, match="expected sqlite"):
        await open_channel("postgres://db/x")


async def test_reader_tokens_are_kept_hashed_and_can_be_revoked(channel: Channel) -> None:
    token, reader = await channel.issue_reader(
        label="Sarah", jobs=("j1",), datasets=("*",), expires_in_s=3600.0
    )
    assert token.startswith("sgr_") and digest(token).startswith(reader.token_id)
    assert await channel.reader(token) == reader
    assert reader.may_read_job("j1") and not reader.may_read_job("j2")
    assert reader.may_read_dataset("anything")
    assert await channel.reader(token + "x") is None
    assert await channel.readers() == [reader]
    revoked = await channel.revoke_reader(reader.token_id)
    assert revoked == dataclasses.replace(reader, revoked=True)
    assert await channel.reader(token) is None
    assert await channel.revoke_reader("unknown") is None


async def test_a_reader_token_must_grant_something(channel: Channel) -> None:
    with pytest.raises(WireError, match="must name a job or a dataset"):
        await channel.issue_reader(label="nothing")
    with pytest.raises(WireError, match="expires_in_s"):
        await channel.issue_reader(jobs=("j1",), expires_in_s=0)
    assert await channel.readers() == []


def test_a_reader_expires() -> None:
    reader = Reader("t", "", ("j1",), (), False, created_at=0.0, expires_at=10.0)
    assert reader.valid(9.9) and not reader.valid(10.0)
    assert not dataclasses.replace(reader, revoked=True).valid(5.0)


async def test_a_page_waits_at_a_missing_number_until_the_next_result_settles(
    mongo_url: str,
) -> None:
    # On MongoDB a writer takes its number, then inserts: a number can be missing
    # for a while (a write in flight) or for good (a Channel killed in between).
    async with await open_channel(mongo_url) as channel:
        await channel.put_job(JobPolicy("j1"))
        giver = Identity.generate()
        await channel.register_giver(giver.id, giver.public_key)
        await channel.put_result(make_result(giver, "r1"))
        taken = AsyncMongoClient(mongo_url).get_default_database()["result_counters"]
        await taken.update_one({"_id": "j1"}, {"$inc": {"seq": 1}})
        await taken.database.client.close()
        await channel.put_result(make_result(giver, "r3"))
        page = await channel.results_page("j1")
        assert ([r.result_id for r in page.results], page.cursor) == (["r1"], 1)
        r3 = await channel.result("r3")
        assert r3 is not None and r3.seq == 3
        later = r3.received_at + SETTLE_S + 1
        page = await channel.results_page("j1", after=1, now=later)
        assert ([r.result_id for r in page.results], page.cursor) == (["r3"], 3)


async def test_a_result_stored_while_its_twin_was_checked_stands(
    channel: Channel, giver: Identity
) -> None:
    # Two posts of one result, both checked before either is stored (as by two
    # Channel processes): the second store finds the first and acknowledges it.
    result = make_result(giver, "r1")
    twins = [await channel.begin(result) for _ in range(2)]
    acks = []
    for intake in twins:
        assert isinstance(intake, Intake)
        intake.add(canonical.dumps(record) for record in result.records)
        acks.append(await channel.commit(intake))
    assert acks[0] == acks[1]
    assert await channel.results_for_tasks(["j1-00000"]) == [result]
