"""Creating jobs from their key sources.

A job is stored as `creating` first, then its blocks, then as `running`: a
failure on the way deletes what was written, and a crash on the way leaves a
`creating` job that the next start deletes. Nothing is ever half-created.
"""

import asyncio
import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any

from channel.errors import UnknownDataset
from channel.wire import canonical, sealing
from channel.wire.models import KeyBlock
from seeker.errors import InvalidJob, UnknownJob
from seeker.work import found
from seeker.work.blocks import Block
from seeker.work.history import Tally
from seeker.work.jobs import Job, JobStatus
from seeker.work.ledger import PAGE
from seeker.work.manager import KeyManager
from seeker.work.sources import (
    FromDataset,
    FromJob,
    KeyCollector,
    KeyFile,
    KeyList,
    Ranges,
    object_keys,
    record_keys,
)
from seeker.work.spec import JobSpec

log = logging.getLogger(__name__)

# A dataset's lines are turned into keys off the event loop about this many bytes at a time.
DATASET_BATCH_BYTES = 1024 * 1024


async def create_job(
    keys: KeyManager,
    spec: JobSpec,
    *,
    scratch_dir: Path,
    keys_file: Path | None = None,
    job_id: str | None = None,
) -> Job:
    """Store a new job and its blocks; InvalidJob if its keys are unusable.

    With `job_id` (a schedule's tick names its job) the job gets that id, and if a
    job of that id exists already, that job is returned and nothing is created.
    """
    if job_id is not None:
        try:
            return await keys.job(job_id)
        except UnknownJob:
            pass
    job_id = job_id or Job.new_id()
    # A sealed job's Givers key the comparison of its copies with this.
    agreement_key = sealing.new_agreement_key() if spec.recipient else ""
    if isinstance(spec.source, Ranges):
        total = spec.source.total
        blocks = -(-total // spec.block_size)
        job = Job(job_id, spec, total, blocks, spec.priority, agreement_key=agreement_key)
        return await _open(keys, job)
    if isinstance(spec.source, FromJob):
        await _check_source_job(keys, spec.source)
    if isinstance(spec.source, FromDataset):
        await _check_source_dataset(keys, spec.source)
    collector = await asyncio.to_thread(_collector, scratch_dir)
    try:
        job = Job(job_id, spec, 0, 0, spec.priority, agreement_key=agreement_key)
        job.unusable = await _collect(keys, spec, collector, keys_file)
        job.total = await asyncio.to_thread(lambda: collector.unique)
        if job.total == 0:
            raise InvalidJob(_no_keys(spec), field="keys")
        job.duplicates = collector.received - job.total
        job.block_count = job.seed_blocks = -(-job.total // spec.block_size)
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


async def _check_source_job(keys: KeyManager, source: FromJob) -> None:
    try:
        earlier = await keys.job(source.job_id)
    except UnknownJob as e:
        raise InvalidJob(f"from_job: {e}", field="from_job") from e
    if earlier.status not in (JobStatus.DONE, JobStatus.CANCELLED):
        raise InvalidJob(
            f"from_job: job {source.job_id} is {earlier.status.value}; its records are "
            "final only once it is done or cancelled",
            field="from_job",
        )
    if earlier.spec.recipient:
        raise InvalidJob(
            f"from_job: job {source.job_id}'s records are sealed to its recipient; the "
            "Seeker cannot read them for keys (export them with --key and submit a keys file)",
            field="from_job",
        )


async def _check_source_dataset(keys: KeyManager, source: FromDataset) -> None:
    if await keys.channel.dataset(source.dataset) is None:
        raise _no_dataset(source)


def _no_dataset(source: FromDataset) -> InvalidJob:
    return InvalidJob(
        f"from_dataset: no dataset {source.dataset!r} in the Channel", field="from_dataset"
    )


def _no_keys(spec: JobSpec) -> str:
    if isinstance(spec.source, FromJob):
        return (
            f"from_job: no record of job {spec.source.job_id} has a usable "
            f"{spec.source.field!r} in its data"
        )
    if isinstance(spec.source, FromDataset):
        return (
            f"from_dataset: no object of dataset {spec.source.dataset} has a usable "
            f"{spec.source.field!r}"
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
    if isinstance(source, FromDataset):
        return await _collect_dataset(keys, source, collector)
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


async def _collect_dataset(keys: KeyManager, source: FromDataset, collector: KeyCollector) -> int:
    """Feed the keys of a dataset's objects to `collector`; how many values could not be keys."""
    unusable = 0
    batch: list[bytes] = []
    batch_bytes = 0
    try:
        async for line in keys.channel.dataset_lines(source.dataset):
            batch.append(line)
            batch_bytes += len(line)
            if batch_bytes >= DATASET_BATCH_BYTES:
                unusable += await asyncio.to_thread(_add_keys, collector, batch, source.field)
                batch, batch_bytes = [], 0
    except UnknownDataset as e:
        raise _no_dataset(source) from e
    return unusable + await asyncio.to_thread(_add_keys, collector, batch, source.field)


def _add_keys(collector: KeyCollector, lines: list[bytes], path: str) -> int:
    """Add the keys at `path` in each JSON line's object; how many values could not be keys."""
    found: list[str] = []
    unusable = 0
    for line in lines:
        values, bad = object_keys(canonical.loads(line), path)
        found += values
        unusable += bad
    collector.add(found)
    return unusable


async def _store_blocks(keys: KeyManager, job: Job, chunks: Iterator[tuple[str, ...]]) -> None:
    """Store the job's blocks a page at a time, each page built off the event loop:
    a page of explicit keys takes long enough to stall it."""
    numbered = enumerate(chunks)

    def page() -> list[tuple[int, tuple[str, ...], dict[str, Any]]]:
        return [(seq, chunk, _block_doc(job, seq, chunk)) for seq, chunk in islice(numbered, PAGE)]

    while batch := await asyncio.to_thread(page):
        if job.spec.discover:
            for seq, chunk, _ in batch:
                await found.claim_seeds(keys.store, job.job_id, seq, chunk)
        await keys.store.insert_blocks([doc for _, _, doc in batch])


def _block_doc(job: Job, seq: int, keys: tuple[str, ...]) -> dict[str, Any]:
    block = Block(job.job_id, seq, KeyBlock(keys=keys))
    return block.to_doc(job.spec.max_attempts, job.spec.retry_backoff_s)


async def _open(keys: KeyManager, job: Job) -> Job:
    await keys.take_results(job)
    job.status = JobStatus.RUNNING
    job.tally = Tally(pending=job.total)
    job.next_seq = 0 if job.ranges is not None else job.block_count
    await keys.store.put_job(job.to_doc())
    keys.jobs[job.job_id] = job
    log.info(
        "job %s: %d keys of %s in %d blocks (%d duplicates dropped)",
        job.job_id,
        job.total,
        job.spec.image_names,
        job.block_count,
        job.duplicates,
    )
    return job
