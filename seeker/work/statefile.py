"""A job's whole state in a file: written by `seeker state dump`, restored by
`seeker state load`.

The file is JSON lines: a header with the job, every block in seq order, and
an end line with the number of blocks, what their keys add up to and the
SHA-256 of every line before it. Loading checks that the blocks are the job's,
in order, none missing, that they add up to the end line and that no line was
changed, and keeps nothing of a file it refuses.
"""

import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from channel.errors import WireError
from channel.wire import canonical
from seeker.errors import InvalidState, JobConflict, SeekerError
from seeker.work.blocks import Block
from seeker.work.history import Tally
from seeker.work.jobs import Job, JobStatus
from seeker.work.ledger import PAGE
from seeker.work.manager import KeyManager

log = logging.getLogger(__name__)

STATE_FORMAT = "seekgive-job-state"
STATE_VERSION = 3


async def dump_state(keys: KeyManager, job_id: str) -> AsyncIterator[bytes]:
    """A job's whole state as JSON lines: a header with the job, every block, then
    the end line."""
    job = await keys.job(job_id)
    header = {"format": STATE_FORMAT, "version": STATE_VERSION, "job": job.to_doc()}
    digest = hashlib.sha256()
    line = canonical.dumps(header)
    digest.update(line + b"\n")
    yield line + b"\n"
    count, tally = 0, Tally()
    async for block in keys.blocks(job_id):
        count += 1
        tally += job.unit(block)
        line = canonical.dumps(block.to_doc(job.spec.max_attempts, job.spec.retry_backoff_s))
        digest.update(line + b"\n")
        yield line + b"\n"
    end = {"blocks": count, **_tally_doc(tally), "sha256": digest.hexdigest()}
    yield canonical.dumps({"end": end}) + b"\n"


def _tally_doc(tally: Tally) -> dict[str, int]:
    """Keys by state once leases are dropped (as a load drops them)."""
    return {"done": tally.done, "failed": tally.failed, "pending": tally.pending + tally.leased}


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
            doc = _parse(line, number)
            if isinstance(doc, dict) and "end" in doc:
                loaded.end(doc["end"], number)
                continue
            loaded.digest.update(line.rstrip(b"\r\n") + b"\n")
            if job is None:
                job = await _begin_load(keys, doc, number)
                status = JobStatus(doc["job"]["status"])
                batch: list[dict[str, Any]] = []
                continue
            batch.append(loaded.block(job, doc, number))
            if len(batch) == PAGE:
                await keys.store.insert_blocks(batch)
                batch = []
        if job is None:
            raise InvalidState("the state file is empty")
        await keys.store.insert_blocks(batch)
        loaded.check_complete(job)
        job.status = JobStatus.RUNNING if status is JobStatus.DONE else status
        await keys.recount(job, time.time())
        await keys.take_results(job)
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
        self.tally = Tally()
        self.digest = hashlib.sha256()
        self.ended = False

    def end(self, end: Any, number: int) -> None:
        if self.ended:
            raise InvalidState("a second end line", line=number)
        self.ended = True
        if not isinstance(end, dict) or end.get("sha256") != self.digest.hexdigest():
            raise InvalidState(
                "the lines above do not match the end line's digest: the file was edited",
                line=number,
            )
        counted = {"blocks": self.next_seq, **_tally_doc(self.tally), "sha256": end["sha256"]}
        if end != counted:
            raise InvalidState(
                f"the blocks add up to {counted}, the end line says {end}: the file was edited",
                line=number,
            )

    def block(self, job: Job, doc: Any, number: int) -> dict[str, Any]:
        try:
            block = Block.from_doc(doc)
        except (WireError, TypeError) as e:
            raise InvalidState(f"a malformed block: {e}", line=number) from e
        if block.job_id != job.job_id:
            raise InvalidState(f"a block of job {block.job_id}, not {job.job_id}", line=number)
        if self.ended:
            raise InvalidState("a block after the end line", line=number)
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
        self.tally += job.unit(block)
        # Copies out and results not yet chosen among go: their keys are run again.
        block = replace(block, round=None, copies=(), votes=(), version=block.version + 1)
        return block.to_doc(job.spec.max_attempts, job.spec.retry_backoff_s)

    def check_complete(self, job: Job) -> None:
        if not self.ended:
            raise InvalidState("the file has no end line: it is cut short")
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
            f"state version {header.get('version')!r} is not {STATE_VERSION}, the one this "
            "Seeker writes and reads",
            line=number,
        )
    try:
        job = Job.from_doc(header["job"])
    except (KeyError, TypeError, ValueError, WireError, SeekerError) as e:
        raise InvalidState(f"the job header is malformed: {e!r}", line=number) from e
    if await keys.store.job(job.job_id) is not None:
        raise JobConflict(job.job_id, f"job {job.job_id} already exists here")
    job.status = JobStatus.CREATING
    # Results are numbered by the Channel that stored them: read this one's from its start.
    job.result_cursors.clear()
    await keys.store.put_job(job.to_doc())
    return job
