"""The key manager: jobs, their blocks and the leases on them, kept in the state store.

Every change to a block is written to the store, over the version it was
read at, before anything acts on it: a Task is sent only once its lease is
stored, and a result counts only once the block that counts it is stored.
After a crash the store holds the last state that was acted on, so
restarting finishes every job with each key counted exactly once.

The key manager holds every job and every live lease in memory, never a
block's keys (but the few blocks being changed) and never one object per key.
"""

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from channel.base import Channel
from channel.models import Result, Task
from seeker.blocks import Block, Tally, block_id, block_id_of_task, job_id_of_task
from seeker.errors import JobConflict, StateUnavailable, UnknownBlock, UnknownJob
from seeker.jobs import Job, JobStatus
from seeker.state.base import StateStore

log = logging.getLogger(__name__)

PAGE = 500
# A block changed under us this many times in a row means something else writes it.
CHANGE_TRIES = 5
RESULTS_BATCH = 200


@dataclass(slots=True)
class LeaseRef:
    """A live lease, as the coordinator needs it without reading the block."""

    task_id: str
    job_id: str
    giver_id: str
    deadline: float
    keys: int
    progress: int = 0


class KeyManager:
    def __init__(self, store: StateStore, channel: Channel, *, lease_grace_s: float) -> None:
        self.store = store
        self.channel = channel
        self._grace_s = lease_grace_s
        self.jobs: dict[str, Job] = {}
        self.leases: dict[str, LeaseRef] = {}

    # Loading --------------------------------------------------------------------

    async def load(self, now: float) -> None:
        """Read every job from the store; recount those not done from their blocks."""
        for doc in await self.store.jobs():
            job = Job.from_doc(doc)
            if job.status is JobStatus.CREATING:
                log.warning("job %s was being created when the Seeker stopped; removed", job.job_id)
                await self.store.delete_job(job.job_id)
                continue
            if job.status is JobStatus.DONE:
                job.next_seq = await self.store.last_seq(job.job_id) + 1
            else:
                await self.recount(job, now)
            self.jobs[job.job_id] = job
        log.info("%d job(s) and %d lease(s) loaded", len(self.jobs), len(self.leases))

    async def recount(self, job: Job, now: float) -> None:
        """Sum a job's tally from its blocks and note its leases; a job that is not
        open loses its leases."""
        tally, cut_keys, last_seq, after = Tally(), 0, -1, -1
        while docs := await self.store.job_blocks(job.job_id, after, PAGE):
            for doc in docs:
                block = Block.from_doc(doc)
                if block.lease is not None and not job.open:
                    block = await self._change(job, block.block_id, _unlease_any, block=block)
                    assert block is not None
                tally += job.unit(block)
                cut_keys += len(block.keys)
                last_seq = block.seq
                if block.lease is not None:
                    self._index(job, block)
            after = docs[-1]["seq"]
        job.tally = tally + Tally(pending=job.total - cut_keys)
        job.next_seq = last_seq + 1
        if job.settle(now) or job.status is JobStatus.CANCELLED:
            await self.store.put_job(job.to_doc())

    def _index(self, job: Job, block: Block) -> None:
        lease = block.lease
        assert lease is not None
        self.leases[lease.task_id] = LeaseRef(
            lease.task_id, job.job_id, lease.giver_id, lease.deadline, len(lease.keys)
        )

    def job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise UnknownJob(job_id)
        return job

    # Changing blocks --------------------------------------------------------------

    async def _change(
        self,
        job: Job,
        block_id: str,
        change: Callable[[Block], Block | None],
        *,
        block: Block | None = None,
    ) -> Block | None:
        """Apply `change` to a block and store it over the version it was read at,
        reading it again if it changed meanwhile. The new block, or None when
        `change` declined."""
        for _ in range(CHANGE_TRIES):
            if block is None:
                doc = await self.store.block(block_id)
                if doc is None:
                    raise UnknownBlock(block_id)
                block = Block.from_doc(doc)
            new = change(block)
            if new is None:
                return None
            spec = job.spec
            if await self.store.replace_block(new.to_doc(spec.max_attempts, spec.retry_backoff_s)):
                self._account(job, block, new)
                return new
            block = None
        raise StateUnavailable(
            f"block {block_id} kept changing under the Seeker; is another Seeker "
            "scheduling from the same store?",
            url=self.store.url,
        )

    def _account(self, job: Job, old: Block, new: Block) -> None:
        job.changed(old, new)
        new_task = new.lease.task_id if new.lease is not None else None
        if old.lease is not None and old.lease.task_id != new_task:
            self.leases.pop(old.lease.task_id, None)
        if new.lease is not None:
            ref = self.leases.get(new.lease.task_id)
            if ref is None:
                self._index(job, new)
            else:
                ref.deadline = new.lease.deadline

    async def _settle(self, job: Job, now: float) -> None:
        if job.settle(now):
            await self.store.put_job(job.to_doc())
            log.info("job %s %s: %s", job.job_id, job.status.value, job.counts())

    # Leasing ----------------------------------------------------------------------

    async def ready(self, job: Job, now: float, limit: int) -> list[Block]:
        """Up to `limit` blocks of `job` that may be leased now, cutting new blocks
        from its ranges once no stored block is ready."""
        blocks = [Block.from_doc(d) for d in await self.store.ready_blocks(job.job_id, now, limit)]
        ranges = job.ranges
        if ranges is not None and len(blocks) < limit and job.next_seq < job.block_count:
            stop = min(job.next_seq + limit - len(blocks), job.block_count)
            cut = [
                Block(job.job_id, seq, ranges.block(seq, job.spec.block_size))
                for seq in range(job.next_seq, stop)
            ]
            spec = job.spec
            inserted = await self.store.insert_blocks(
                [b.to_doc(spec.max_attempts, spec.retry_backoff_s) for b in cut]
            )
            if inserted < len(cut):
                # Blocks already cut: the cursor was behind. Lease only what is stored.
                job.next_seq = await self.store.last_seq(job.job_id) + 1
                log.warning("job %s: blocks were cut already; cursor moved", job.job_id)
                return blocks
            job.next_seq = stop
            blocks += cut
        return blocks

    async def lease(self, job: Job, block: Block, giver_id: str, now: float) -> Task | None:
        """Lease `block` (as read by `ready`) to a Giver; the Task to send it, or None
        if the block changed meanwhile."""
        keys = block.remaining(job.spec.max_attempts)
        if keys is None or block.lease is not None or job.status is not JobStatus.RUNNING:
            return None
        deadline = now + job.spec.limits.timeout_s + self._grace_s
        new = await self._change(
            job,
            block.block_id,
            lambda b: b.leased_to(giver_id, deadline, keys) if b == block else None,
            block=block,
        )
        if new is None or new.lease is None:
            return None
        if job.status is not JobStatus.RUNNING:
            # Paused or cancelled while the lease was written: take it back.
            await self.release(new.lease.task_id, giver_id)
            return None
        spec = job.spec
        return Task(
            task_id=new.lease.task_id,
            job_id=job.job_id,
            image=spec.image,
            settings=spec.settings,
            block=keys,
            network=spec.network,
            limits=spec.limits,
        )

    async def renew(self, task_id: str, giver_id: str, done: int, now: float) -> None:
        """Progress from the lease holder: keep its lease alive. The stored deadline
        moves in steps of two grace periods, so progress costs few writes."""
        ref = self.leases.get(task_id)
        if ref is None or ref.giver_id != giver_id:
            return
        ref.progress = min(done, ref.keys)
        if now + self._grace_s <= ref.deadline:
            return
        deadline = now + 2 * self._grace_s
        await self._change(
            self.jobs[ref.job_id],
            block_id_of_task(task_id),
            lambda b: b.with_deadline(deadline) if _holds(b, task_id, giver_id) else None,
        )

    async def release(
        self, task_id: str, giver_id: str, *, refusal: str | None = None, released: bool = False
    ) -> bool:
        """The lease holder gives the block back: unsent (neither flag), refused
        before it started (kept off the block) or released after (another Giver
        preferred). Whether `giver_id` held that lease."""
        ref = self.leases.get(task_id)
        if ref is None or ref.giver_id != giver_id:
            log.debug("giver %s gave back task %s, which it does not hold", giver_id, task_id)
            return False
        new = await self._change(
            self.jobs[ref.job_id],
            block_id_of_task(task_id),
            lambda b: (
                b.unleased(refusal=refusal, released=released)
                if _holds(b, task_id, giver_id)
                else None
            ),
        )
        return new is not None

    async def expire(self, now: float) -> list[str]:
        """Return lapsed leases' keys to the pool; the ids of those tasks."""
        lapsed = [ref for ref in self.leases.values() if ref.deadline <= now]
        expired = []
        for ref in lapsed:
            new = await self._change(
                self.jobs[ref.job_id],
                block_id_of_task(ref.task_id),
                lambda b, ref=ref: (
                    b.unleased()
                    if _holds(b, ref.task_id, ref.giver_id) and b.lease.deadline <= now
                    else None
                ),
            )
            if new is not None:
                expired.append(ref.task_id)
        return expired

    async def apply(self, result: Result, now: float) -> bool:
        """Count `result` if it answers a live lease; whether it did. A result with
        records for keys outside its lease is discarded, and charged as an
        invalidation."""
        ref = self.leases.get(result.task_id)
        if ref is None or ref.giver_id != result.giver_id:
            return False
        job = self.jobs[ref.job_id]

        def count(block: Block) -> Block | None:
            if not _holds(block, result.task_id, result.giver_id):
                return None
            assert block.lease is not None
            leased = block.lease.keys
            allowed = leased if leased.start is not None else set(leased)
            stray = next((r["key"] for r in result.records if r["key"] not in allowed), "")
            if result.job_id != job.job_id or stray:
                what = f"key {stray!r}" if stray else f"job {result.job_id}"
                return block.invalidated_by_giver(
                    result.task_id,
                    f"result {result.result_id} claims {what} outside its task; discarded",
                    now,
                )
            return block.counted(result, now)

        new = await self._change(job, block_id_of_task(result.task_id), count)
        await self._settle(job, now)
        return new is not None

    async def invalidate_task(self, task_id: str, giver_id: str, reason: str, now: float) -> bool:
        """A Giver says its scraper misbehaved on `task_id`: whatever it reported is
        discarded and the keys go back, charged one failed attempt."""
        job = self.jobs.get(job_id_of_task(task_id))
        if job is None:
            log.debug("giver %s invalidated task %s of no known job", giver_id, task_id)
            return False
        await self._reopen(job)
        try:
            new = await self._change(
                job,
                block_id_of_task(task_id),
                lambda b: (
                    b.invalidated_by_giver(task_id, f"invalidated by giver: {reason}", now)
                    if b.reporter(task_id) == giver_id
                    else None
                ),
            )
        except UnknownBlock:
            new = None
        await self._settle(job, now)
        if new is None:
            log.debug("giver %s invalidated task %s, which it has no part in", giver_id, task_id)
        return new is not None

    async def fail_block(self, job: Job, block: Block, reason: str, now: float) -> None:
        """Fail a block's remaining keys for good: nothing can run them."""
        await self._change(
            job,
            block.block_id,
            lambda b: (
                b.failed_for_good(reason, now, job.spec.max_attempts)
                if b.lease is None and b.remaining(job.spec.max_attempts)
                else None
            ),
            block=block,
        )
        await self._settle(job, now)

    # Operator actions ---------------------------------------------------------------

    async def set_status(self, job_id: str, status: JobStatus, now: float) -> list[LeaseRef]:
        """Pause, resume or cancel a job; the leases a cancel took back."""
        job = self.job(job_id)
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
                new = await self._change(
                    job,
                    block_id_of_task(ref.task_id),
                    lambda b, ref=ref: b.unleased() if b.holder(ref.task_id) else None,
                )
                if new is not None:
                    taken.append(ref)
            await self.store.put_job(job.to_doc())
        await self._settle(job, now)
        return taken

    async def set_priority(self, job_id: str, priority: int) -> None:
        job = self.job(job_id)
        job.priority = priority
        await self.store.put_job(job.to_doc())

    async def invalidate_block(self, job_id: str, seq: int, now: float) -> list[LeaseRef]:
        """Discard everything reported for one block; its keys go back to the pool.
        The lease it held, if any, to cancel."""
        job = self.job(job_id)
        doc = await self.store.block(block_id(job_id, seq))
        if doc is None:
            raise UnknownBlock(block_id(job_id, seq))
        block = Block.from_doc(doc)
        ref = self.leases.get(block.lease.task_id) if block.lease else None
        taken = [ref] if ref is not None else []
        await self._reopen(job)
        await self._change(
            job,
            block.block_id,
            lambda b: b.invalidated() if b.runs or b.lease else None,
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
        touched: dict[str, Job] = {}
        for doc in await self.store.giver_blocks(giver_id):
            block = Block.from_doc(doc)
            job = self.jobs.get(block.job_id)
            if job is None:
                continue
            if not (
                any(r.giver_id == giver_id and r.at >= since for r in block.runs)
                or (block.lease is not None and block.lease.giver_id == giver_id)
            ):
                continue
            await self._reopen(job)
            new = await self._change(
                job, block.block_id, lambda b: b.invalidated(giver_id, since), block=block
            )
            changed += new is not None
            touched[job.job_id] = job
        for job in touched.values():
            await self._settle(job, now)
        return changed, taken

    async def _reopen(self, job: Job) -> None:
        """Mark a done job running before any of its blocks changes, so a crash
        between the two still recounts it on the next start."""
        if job.status is JobStatus.DONE:
            job.status, job.finished_at = JobStatus.RUNNING, None
            await self.store.put_job(job.to_doc())

    # Reading ----------------------------------------------------------------------

    async def blocks(self, job_id: str) -> AsyncIterator[Block]:
        """A job's blocks in seq order, a page at a time."""
        self.job(job_id)
        after = -1
        while docs := await self.store.job_blocks(job_id, after, PAGE):
            for doc in docs:
                yield Block.from_doc(doc)
            after = docs[-1]["seq"]

    async def counted_results(self, job_id: str) -> AsyncIterator[Result]:
        """The results counted for a job, block by block."""
        wanted: dict[str, str] = {}
        async for block in self.blocks(job_id):
            wanted.update((r.task_id, r.result_id) for r in block.runs if r.result_id)
            if len(wanted) >= RESULTS_BATCH:
                for result in await self._fetch(wanted):
                    yield result
                wanted = {}
        for result in await self._fetch(wanted):
            yield result

    async def _fetch(self, wanted: dict[str, str]) -> list[Result]:
        if not wanted:
            return []
        results = await self.channel.results_for_tasks(list(wanted))
        return [r for r in results if wanted.get(r.task_id) == r.result_id]

    def load_of(self, giver_id: str) -> int:
        return sum(1 for ref in self.leases.values() if ref.giver_id == giver_id)


def _holds(block: Block, task_id: str, giver_id: str) -> bool:
    return (
        block.lease is not None
        and block.lease.task_id == task_id
        and block.lease.giver_id == giver_id
    )


def _unlease_any(block: Block) -> Block | None:
    return block.unleased() if block.lease is not None else None
