"""Steering jobs, as operators do: pause, resume or cancel a job, change its
priority, and discard what was reported for a block or by a Giver, its keys
back in the pool. Each is a versioned change of blocks on the ledger
(seeker.work.ledger); a done job is marked running again first, so a crash in
between still recounts it."""

import logging

from seeker.errors import JobConflict, UnknownBlock
from seeker.work.blocks import Block, block_id, block_id_of_task
from seeker.work.jobs import Job, JobStatus
from seeker.work.ledger import FINISHED, LeaseRef, Ledger, unlease

log = logging.getLogger(__name__)


class JobSteering(Ledger):
    """The operator's changes to jobs on the ledger."""

    async def set_status(self, job_id: str, status: JobStatus, now: float) -> list[LeaseRef]:
        """Pause, resume or cancel a job; the leases a cancel took back."""
        job = await self.job(job_id)
        allowed = {
            JobStatus.PAUSED: (JobStatus.RUNNING, JobStatus.PAUSED),
            JobStatus.RUNNING: (JobStatus.PAUSED, JobStatus.RUNNING),
            JobStatus.CANCELLED: (JobStatus.RUNNING, JobStatus.PAUSED, JobStatus.CANCELLED),
        }[status]
        if job.status not in allowed:
            raise JobConflict(
                job_id,
                f"job {job_id} is {job.status.value}; it cannot be "
                f"{'resumed' if status is JobStatus.RUNNING else status.value}",
            )
        if job.status is not status:
            job.status = status
            if status is JobStatus.CANCELLED:
                job.finished_at = now
            await self.store.put_job(job.to_doc())
        taken = []
        if status is JobStatus.CANCELLED:
            for ref in [r for r in self.leases.values() if r.job_id == job_id]:
                changed = await self._change(
                    job,
                    block_id_of_task(ref.task_id),
                    unlease(ref),
                )
                if changed is not None:
                    taken.append(ref)
        await self._settle(job, now)
        return taken

    async def set_priority(self, job_id: str, priority: int) -> None:
        job = await self.job(job_id)
        job.priority = priority
        await self.store.put_job(job.to_doc())

    async def invalidate_block(self, job_id: str, seq: int, now: float) -> list[LeaseRef]:
        """Discard everything reported for one block; its keys go back to the pool.
        The lease it held, if any, to cancel."""
        job = await self.job(job_id)
        doc = await self.store.block(block_id(job_id, seq))
        if doc is None:
            raise UnknownBlock(block_id(job_id, seq))
        block = Block.from_doc(doc)
        taken = [self.leases[c.task_id] for c in block.copies if c.task_id in self.leases]
        await self._reopen(job)
        await self._change(
            job,
            block.block_id,
            lambda b: b.invalidated() if b.runs or b.round else None,
            block=block,
        )
        await self._settle(job, now)
        return taken

    async def invalidate_giver(
        self, giver_id: str, since: float, now: float
    ) -> tuple[int, list[LeaseRef]]:
        """Discard everything one Giver reported since `since`, in every job, and take
        back its leases. How many blocks changed, and the leases to cancel."""
        taken = [ref for ref in self.leases.values() if ref.giver_id == giver_id]
        changed = 0
        read: dict[str, Job] = {}
        touched: dict[str, Job] = {}
        for doc in await self.store.giver_blocks(giver_id):
            block = Block.from_doc(doc)
            job = read.get(block.job_id) or await self.job(block.job_id)
            read[job.job_id] = job
            if not (
                any(r.giver_id == giver_id and r.at >= since for r in (*block.runs, *block.votes))
                or giver_id in {c.giver_id for c in block.copies}
            ):
                continue
            await self._reopen(job)
            done = await self._change(
                job, block.block_id, lambda b: b.invalidated(giver_id, since), block=block
            )
            changed += done is not None
            touched[job.job_id] = job
        for job in touched.values():
            await self._settle(job, now)
        return changed, taken

    async def _reopen(self, job: Job) -> None:
        """Mark a done job running before any of its blocks changes, so a crash
        between the two still recounts it on the next start; a finished job read
        from the store is held in memory from then on."""
        if job.status in FINISHED:
            self.hold(job)
        if job.status is JobStatus.DONE:
            job.status, job.finished_at = JobStatus.RUNNING, None
            await self.store.put_job(job.to_doc())

    async def delete(self, job_id: str) -> Job:
        """Delete a finished job: its results in this Seeker's Channel unless its
        retention keeps them (the Channel removes them when it ends), then its
        blocks and keys, then the job. Each step may be taken again, so a deletion
        cut short is finished by asking for it again. JobConflict, deleting
        nothing, if the job is not finished."""
        job = await self.job(job_id)
        if job.status not in FINISHED:
            raise JobConflict(
                job_id,
                f"job {job_id} is {job.status.value}; only a done or cancelled job can be "
                f"deleted: cancel it first (seeker cancel {job_id})",
            )
        if job.spec.retention_s is None:
            removed = await self.channel.delete_job(job_id)
            log.info("job %s: %d result(s) removed from the Channel", job_id, removed)
        await self.store.delete_job(job_id)
        if self.jobs.pop(job_id, None) is None:
            self.stored_only[job.status] -= 1
        log.info("job %s deleted", job_id)
        return job
