"""Results as the tests make them (signed or not), copies of a block answered and
compared, and what a store holds of datasets."""

import asyncio
import contextlib
import sqlite3

from pymongo import AsyncMongoClient

from channel.wire.identity import Identity
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result
from seeker.work.blocks import Block
from seeker.work.choice import comparison_digest


async def stored_chunks(store_url: str) -> int:
    """How many dataset chunks the store holds, published or staged, read beside the Channel."""
    if store_url.startswith("sqlite:///"):
        path = store_url.removeprefix("sqlite:///")

        def count() -> int:
            with contextlib.closing(sqlite3.connect(path)) as db:
                return db.execute("SELECT count(*) FROM dataset_chunks").fetchone()[0]

        return await asyncio.to_thread(count)
    client: AsyncMongoClient = AsyncMongoClient(store_url)
    try:
        database = client.get_default_database()
        return await database["dataset_chunks.chunks"].count_documents({})
    finally:
        await client.close()


def result_of(
    giver: Identity, result_id: str, records: list[dict], task_id: str = "j1-00000.1"
) -> Result:
    return sign_result(
        giver,
        Result(
            result_id=result_id,
            task_id=task_id,
            job_id="j1",
            giver_id="",
            records=records,
            outcomes=[KeyOutcome(r["key"], True) for r in records],
            error=None,
            started_at=1.0,
            finished_at=2.0,
        ),
    )


def copies(block: Block, *givers: str, quorum: int, wanted: int) -> Block:
    keys = block.round.keys if block.round else block.keys
    for giver in givers:
        block = block.leased_to(giver, 0.0, 100.0, keys, quorum=quorum, wanted=wanted)
    return block


def answer(block: Block, giver: str, data: dict, **choose: object) -> Block:
    (lease,) = [c for c in block.copies if c.giver_id == giver]
    result = make_result(lease.task_id, giver, {k: data for k in lease.keys})
    digest = comparison_digest(result, choose.pop("ignore", ()))  # type: ignore[arg-type]
    return block.counted(result, 5.0, digest=digest, **choose)  # type: ignore[arg-type]


def make_result(
    task_id: str, giver: str, records: dict[str, dict], failed: tuple[str, ...] = ()
) -> Result:
    return Result(
        result_id=f"r-{task_id}",
        task_id=task_id,
        job_id="j1",
        giver_id=giver,
        records=[{"key": k, "data": d} for k, d in records.items()],
        outcomes=[KeyOutcome(k, True) for k in records]
        + [KeyOutcome(k, False, "x") for k in failed],
        error=None,
        started_at=0.0,
        finished_at=1.0,
    )
