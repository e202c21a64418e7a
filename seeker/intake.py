"""Creating jobs, and writing and restoring a job's whole state.

A job is stored as `creating` first, then its blocks, then as `running`: a
failure on the way deletes what was written, and a crash on the way leaves a
`creating` job that the next start deletes. Nothing is ever half-created.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any

from channel import canonical
from channel.errors import WireError
from channel.models import KeyBlock
from seeker.blocks import Block, Tally
from seeker.errors import InvalidJob, InvalidState, JobConflict, SeekerError, UnknownJob
from seeker.jobs import Job, JobStatus
from seeker.keys import KeyCollector, Ranges, record_keys
from seeker.spec import FromJob, JobSpec, KeyFile, KeyList
from seeker.work import PAGE, KeyManager

log = logging.getLogger(__name__)

STATE_FORMAT = "seekgive-job-state"
STATE_VERSION = 1


async def create_job(
    keys: KeyManager, spec: JobSpec, *, scratch_dir: Path, keys_file: Path | None = None
) -> Job:
    """Store a new job and its blocks; InvalidJob if its keys are unusable."""
    job_id = Job.new_id()
    if isinstance(spec.source, Ranges):
        total = spec.source.total
        job = Job(job_id, spec, total, -(-total // spec.block_size), spec.priority)
        return await _open(keys, job)
    if isinstance(spec.source, FromJob):
        _check_source_job(keys, spec.source)
    collector = await asyncio.to_thread(_collector, scratch_dir)
    try:
        job = Job(job_id, spec, 0, 0, spec.priority)
        job.unusable = await _collect(keys, spec, collector, keys_file)
        job.total = await asyncio.to_thread(lambda: collector.unique)
        if job.total == 0:
            raise InvalidJob(_no_keys(spec), field="keys")
        job.duplicates = collector.received - job.total
        job.block_count = -(-job.total // spec.block_size)
        if isinstance(spec.source, KeyList):
            # The keys now live in the blocks; keep none in memory.
            job.spec = replace(spec, source=KeyList(()))
        await keys.store.put_job(job.to_doc())
        try:
            await _store_blocks(keys, job, collector.blocks(spec.block_size))
            return await _open(keys, job)
        except BaseException:
            await keys.store.delete_job(job_id)
            raise
    finally:
        await asyncio.to_thread(collector.close)


def _collector(scratch_dir: Path) -> KeyCollector:
    scratch_dir.mkdir(parents=True, exist_ok=True)
    return KeyCollector(scratch_dir / f"keys-{uuid.uuid4().hex}.sqlite3")


def _check_source_job(keys: KeyManager, source: FromJob) -> None:
    try:
        earlier = keys.job(source.job_id)
    except UnknownJob as e:
        raise InvalidJob(f"from_job: {e}", field="from_job") from e
    if earlier.status not in (JobStatus.DONE, JobStatus.CANCELLED):
        raise InvalidJob(
            f"from_job: job {source.job_id} is {earlier.status.value}; its records are "
            "final only once it is done or cancelled",
            field="from_job",
        )


def _no_keys(spec: JobSpec) -> str:
    if isinstance(spec.source, FromJob):
        return (
            f"from_job: no record of job {spec.source.job_id} has a usable "
            f"{spec.source.field!r} in its data"
        )
    return "the keys file has no keys" if isinstance(spec.source, KeyFile) else "no keys"


async def _collect(
    keys: KeyManager, spec: JobSpec, collector: KeyCollector, keys_file: Path | None
) -> int:
    """Feed the spec's keys to `collector`; how many values could not be keys."""
    source = spec.source
    if isinstance(source, KeyList):
        await asyncio.to_thread(collector.add, source.keys)
        return 0
    if isinstance(source, KeyFile):
        assert keys_file is not None, "a keys-file job needs its file"
        await asyncio.to_thread(collector.add_lines, keys_file)
        return 0
    assert isinstance(source, FromJob)
    unusable = 0
    async for result in keys.counted_results(source.job_id):
        found: list[str] = []
        for record in result.records:
            values, bad = record_keys(record, source.field)
            found += values
            unusable += bad
        await asyncio.to_thread(collector.add, found)
    return unusable


async def _store_blocks(keys: KeyManager, job: Job, chunks: Iterator[tuple[str, ...]]) -> None:
    seq = 0
    while batch := await asyncio.to_thread(lambda: list(islice(chunks, PAGE))):
        docs = []
        for chunk in batch:
            block = Block(job.job_id, seq, KeyBlock(keys=chunk))
            docs.append(block.to_doc(job.spec.max_attempts, job.spec.retry_backoff_s))
            seq += 1
        await keys.store.insert_blocks(docs)


async def _open(keys: KeyManager, job: Job) -> Job:
    job.status = JobStatus.RUNNING
    job.tally = Tally(pending=job.total)
    job.next_seq = 0 if job.ranges is not None else job.block_count
    await keys.store.put_job(job.to_doc())
    keys.jobs[job.job_id] = job
    log.info(
        "job %s: %d keys of %s in %d blocks (%d duplicates dropped)",
        job.job_id,
        job.total,
        job.spec.image,
        job.block_count,
        job.duplicates,
    )
    return job


# Dump and load -----------------------------------------------------------------------


async def dump_state(keys: KeyManager, job_id: str) -> AsyncIterator[bytes]:
    """A job's whole state as JSON lines: a header with the job, then every block."""
    job = keys.job(job_id)
    header = {"format": STATE_FORMAT, "version": STATE_VERSION, "job": job.to_doc()}
    yield canonical.dumps(header) + b"\n"
    async for block in keys.blocks(job_id):
        yield canonical.dumps(block.to_doc(job.spec.max_attempts, job.spec.retry_backoff_s)) + b"\n"


async def load_state(keys: KeyManager, lines: AsyncIterator[bytes]) -> Job:
    """Restore a job written by `dump_state`, under its own id, or raise InvalidState
    and keep nothing of it. Leases it held are dropped (their keys are pending
    again); counted results are kept, so records export from the Channel they
    were posted to. The job is scheduled only once wholly loaded."""
    number = 0
    job: Job | None = None
    loaded = _Loaded()
    try:
        async for line in lines:
            number += 1
            if not line.strip():
                continue
            if job is None:
                header = _parse(line, number)
                job = await _begin_load(keys, header, number)
                status = JobStatus(header["job"]["status"])
                batch: list[dict[str, Any]] = []
                continue
            batch.append(loaded.block(job, _parse(line, number), number))
            if len(batch) == PAGE:
                await keys.store.insert_blocks(batch)
                batch = []
        if job is None:
            raise InvalidState("the state file is empty")
        await keys.store.insert_blocks(batch)
        loaded.check_complete(job)
        job.status = JobStatus.RUNNING if status is JobStatus.DONE else status
        await keys.recount(job, time.time())
        await keys.store.put_job(job.to_doc())
    except BaseException:
        if job is not None:
            await keys.store.delete_job(job.job_id)
        raise
    keys.jobs[job.job_id] = job
    log.info("job %s loaded: %s", job.job_id, job.counts())
    return job


class _Loaded:
    """Checks that a state file's blocks are the job's blocks, in order, none missing."""

    def __init__(self) -> None:
        self.next_seq = 0
        self.keys = 0

    def block(self, job: Job, doc: Any, number: int) -> dict[str, Any]:
        try:
            block = Block.from_doc(doc)
        except (WireError, TypeError) as e:
            raise InvalidState(f"a malformed block: {e}", line=number) from e
        if block.job_id != job.job_id:
            raise InvalidState(f"a block of job {block.job_id}, not {job.job_id}", line=number)
        if block.seq != self.next_seq:
            raise InvalidState(
                f"block {block.seq} where block {self.next_seq} was due", line=number
            )
        ranges = job.ranges
        if ranges is not None and block.seq < job.block_count:
            expected = ranges.block(block.seq, job.spec.block_size)
        else:
            expected = None
        if block.seq >= job.block_count or (expected is not None and block.keys != expected):
            raise InvalidState(f"block {block.seq} is not one of the job's blocks", line=number)
        self.next_seq += 1
        self.keys += len(block.keys)
        block = replace(block, lease=None, version=block.version + 1)
        return block.to_doc(job.spec.max_attempts, job.spec.retry_backoff_s)

    def check_complete(self, job: Job) -> None:
        if job.ranges is None and (self.next_seq, self.keys) != (job.block_count, job.total):
            raise InvalidState(
                f"the file has {self.next_seq} blocks of {self.keys} keys; the job has "
                f"{job.block_count} of {job.total}: it is cut short or edited"
            )


def _parse(line: bytes, number: int) -> Any:
    try:
        return canonical.loads(line)
    except WireError as e:
        raise InvalidState(f"not JSON: {e}", line=number) from e


async def _begin_load(keys: KeyManager, header: Any, number: int) -> Job:
    if not isinstance(header, dict) or header.get("format") != STATE_FORMAT:
        raise InvalidState(f"not a job state file (no {STATE_FORMAT!r} header)", line=number)
    if header.get("version") != STATE_VERSION:
        raise InvalidState(
            f"state version {header.get('version')!r} is not {STATE_VERSION}", line=number
        )
    try:
        job = Job.from_doc(header["job"])
    except (KeyError, TypeError, ValueError, WireError, SeekerError) as e:
        raise InvalidState(f"the job header is malformed: {e!r}", line=number) from e
    if job.job_id in keys.jobs:
        raise JobConflict(job.job_id, f"job {job.job_id} already exists here")
    job.status = JobStatus.CREATING
    await keys.store.put_job(job.to_doc())
    return job
