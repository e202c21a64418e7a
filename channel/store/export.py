"""A job's records as JSON lines or CSV, streamed a chunk at a time.

Memory stays flat whatever the job's size: records are read result by result
from the store and written out as they come. CSV needs its columns before its
first row, so without `fields` it reads the records twice: once for the
names of their data fields, once for the rows. CSV is written from any
source of records that can be read twice (the Seeker writes the records of
the results it counted).
"""

import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from channel.store.base import Channel
from channel.wire import canonical

# Output is written in pieces of about this many bytes.
WRITE_BYTES = 64 * 1024


async def records(channel: Channel, job_id: str, *, full: bool = False) -> AsyncIterator[bytes]:
    """Every stored record of the job, as canonical JSON lines, in arrival order;
    with their debug captures if `full`."""
    async for row in channel.job_results(job_id):
        async for line in channel.record_lines(row, full=full):
            yield line


def jsonl(channel: Channel, job_id: str, *, full: bool = False) -> AsyncIterator[bytes]:
    """Every stored record of the job as JSON-lines text (captures too if `full`)."""
    return ndjson(records(channel, job_id, full=full))


async def ndjson(lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Lines (without newlines) as JSON-lines text, in pieces of about WRITE_BYTES."""
    batch = bytearray()
    async for line in lines:
        batch += line + b"\n"
        if len(batch) >= WRITE_BYTES:
            yield bytes(batch)
            batch.clear()
    if batch:
        yield bytes(batch)


Records = Callable[[], AsyncIterator[dict[str, Any]]]


def stored_records(channel: Channel, job_id: str) -> Records:
    """Every stored record of the job, read afresh at each call."""

    async def read() -> AsyncIterator[dict[str, Any]]:
        async for line in records(channel, job_id):
            yield canonical.loads(line)

    return read


async def data_fields(records: Records) -> list[str]:
    """The names of the data fields the records use, in order of first use."""
    names: dict[str, None] = {}
    async for record in records():
        names.update(dict.fromkeys(record.get("data", {})))
        if "sealed" in record:
            names["sealed"] = None
    return list(names)


async def csv_text(records: Records, fields: Sequence[str] | None = None) -> AsyncIterator[bytes]:
    """Records as CSV: `key`, then one column per data field; values that are not
    strings or numbers are written as JSON. Without `fields` the records are read
    twice: once for the names of their data fields, once for the rows."""
    columns = list(fields) if fields is not None else await data_fields(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["key", *columns])
    async for record in records():
        data = record.get("data", {"sealed": record.get("sealed")})
        writer.writerow([record["key"], *(cell(data.get(name)) for name in columns)])
        if buffer.tell() >= WRITE_BYTES:
            yield _take(buffer)
    yield _take(buffer)


def cell(value: object) -> object:
    """A data field's value as a CSV cell: strings and numbers as they are, true
    or false, nothing for null, anything else as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, str | int | float):
        return "" if value is None else value
    return canonical.dumps(value).decode()


def _take(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()
