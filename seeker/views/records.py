"""A job's records a page at a time, as the job-detail page and the API show
them, each with the key, the Giver and the task of its result.

Pages follow the Channel's paging of a job's results (see
`Channel.results_page`): following `next` from the start yields every stored
record once, also while results keep arriving, and on MongoDB a page stops
before a result number still being written until it settles. A page holds
every stored copy's records: with `replicas` above 1 a key appears once per
copy (the records download holds only the copies the Seeker counted).
"""

from contextlib import aclosing
from typing import Any

from channel.store.base import Channel
from channel.store.rows import StoredResult
from channel.wire import canonical
from seeker.views.paging import RecordCursor


async def records_page(
    channel: Channel, job_id: str, after: RecordCursor, limit: int
) -> dict[str, Any]:
    """Up to `limit` records of the job from `after` on; `next` is where the next
    page goes on, and `more` whether more records were stored already (without
    it, pass `next` again later for those still to come)."""
    start = after.seq - 1 if after.skip else after.seq
    page = await channel.results_page(job_id, after=start, limit=limit)
    records: list[dict[str, Any]] = []
    cursor, more = after, len(page.results) == limit
    for row in page.results:
        room = limit - len(records)
        if room == 0:
            more = True
            break
        skip = after.skip if row.seq == after.seq else 0
        left = row.records - skip
        if left > 0:
            records += await _read(channel, row, skip, min(left, room))
        if left > room:
            cursor, more = RecordCursor(row.seq, skip + room), True
            break
        cursor = RecordCursor(row.seq)
    return {"job_id": job_id, "records": records, "next": str(cursor), "more": more}


async def _read(channel: Channel, row: StoredResult, skip: int, count: int) -> list[dict[str, Any]]:
    """Records `skip` to `skip + count` of a stored result (without debug
    captures), each with its result's key fields."""
    found: list[dict[str, Any]] = []
    async with aclosing(channel.record_lines(row, full=False)) as lines:
        index = 0
        async for line in lines:
            if index >= skip:
                found.append(
                    {
                        **canonical.loads(line),
                        "giver_id": row.giver_id,
                        "task_id": row.task_id,
                        "result_id": row.result_id,
                        "result_seq": row.seq,
                    }
                )
                if len(found) == count:
                    break
            index += 1
    return found
