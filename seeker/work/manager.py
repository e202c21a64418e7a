"""The key manager: leasing blocks to Givers, counting what they return, and
steering jobs (pause, cancel, invalidate), over the ledger of jobs and blocks
(seeker.work.ledger).

A Task is sent only once its lease is stored, and a result counts only once
the block that counts it is stored, so restarting finishes every job with each
key counted exactly once.
"""

import logging
from dataclasses import dataclass

from channel.wire.models import Task
from channel.wire.results import Result
from seeker.errors import UnknownBlock, UnknownJob
from seeker.work import found
from seeker.work.blocks import Block, block_id_of_task, job_id_of_task
from seeker.work.choice import Choice, comparison_digest
from seeker.work.counting import Counted, Counting, sealing_misfit
from seeker.work.jobs import Job, JobStatus, Refusal
from seeker.work.ledger import LeaseRef, holds, unlease
from seeker.work.steering import JobSteering

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Offer:
    """A copy of a block to lease: the block as read, as leasing the copy leaves it
    (the copy is its last), and the image its Giver runs."""

    job: Job
    block: Block
    leased: Block
    image: str


class KeyManager(JobSteering):
    """Every job and live lease of this Seeker (seeker.work.ledger), leased to
    Givers, counted from their results and steered by operators."""

    # Leasing -------------------------------------------------------------------------------

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

    def offer(
        self,
        job: Job,
        block: Block,
        giver_id: str,
        now: float,
        *,
        image: str,
        quorum: int = 1,
        wanted: int = 1,
        tail: bool = False,
    ) -> Offer | None:
        """A copy of `block` (as last read) for a Giver that runs `image` (the job's
        image for its architecture), to lease with `lease_all`; None if the block
        wants no copy from that Giver. A block with no round under way opens one that
        wants `wanted` copies, `quorum` agreeing; a `tail` copy doubles a copy out on
        a slow Giver."""
        keys = block.round.keys if block.round else block.remaining(job.spec.max_attempts)
        usable = (tail and block.round is not None and not block.round.tailed) or (
            not tail and block.wants_copy
        )
        if (
            keys is None
            or not usable
            or giver_id in block.round_givers()
            or job.status is not JobStatus.RUNNING
        ):
            return None
        deadline = now + job.spec.limits.timeout_s + self._grace_s
        leased = block.leased_to(
            giver_id, now, deadline, keys, quorum=quorum, wanted=wanted, tail=tail
        )
        return Offer(job, block, leased, image)

    async def lease_all(self, offers: list[Offer]) -> list[Task | None]:
        """Lease every offer, all stored (in one write where the store can) before
        this returns, so before any is sent: for each, the Task to send, or None if
        its block changed meanwhile or its job stopped running. Offers of one block
        come in order, each over the block as the one before leaves it."""
        stored = await self._store_all([(o.job, o.block, o.leased) for o in offers])
        tasks: list[Task | None] = []
        for offer, done in zip(offers, stored, strict=True):
            lease = offer.leased.copies[-1]
            if done and offer.job.status is not JobStatus.RUNNING:
                # Paused or cancelled while the lease was written: take it back.
                await self.release(lease.task_id, lease.giver_id)
                done = False
            tasks.append(offer.job.task(lease.task_id, lease.keys, offer.image) if done else None)
        return tasks

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
            lambda b: b.with_deadline(task_id, deadline) if holds(b, task_id, giver_id) else None,
        )

    async def refused(self, task_id: str, giver_id: str, reason: str, now: float) -> bool:
        """The lease holder refused the task before it started: that Giver is kept off
        the block, and the refusal is noted with the job. Whether it held that lease."""
        ref = self.leases.get(task_id)
        if ref is None or not await self._give_back(task_id, giver_id, refusal=reason):
            return False
        job = self.jobs[ref.job_id]
        job.refusals.append(Refusal(giver_id, task_id, reason, now))
        await self.store.put_job(job.to_doc())
        return True

    async def release(self, task_id: str, giver_id: str, *, released: bool = False) -> bool:
        """The lease holder gives the block back: unsent, or `released` after it
        started (another Giver is preferred for it). Whether `giver_id` held that
        lease."""
        return await self._give_back(task_id, giver_id, released=released)

    async def _give_back(
        self, task_id: str, giver_id: str, *, refusal: str | None = None, released: bool = False
    ) -> bool:
        ref = self.leases.get(task_id)
        if ref is None or ref.giver_id != giver_id:
            log.debug("giver %s gave back task %s, which it does not hold", giver_id, task_id)
            return False
        changed = await self._change(
            self.jobs[ref.job_id],
            block_id_of_task(task_id),
            lambda b: (
                b.unleased(task_id, refusal=refusal, released=released)
                if holds(b, task_id, giver_id)
                else None
            ),
        )
        return changed is not None

    async def release_giver(self, giver_id: str) -> list[str]:
        """Take back every copy a Giver holds (it is gone); the ids of those tasks."""
        taken = [ref.task_id for ref in self.leases.values() if ref.giver_id == giver_id]
        return [task_id for task_id in taken if await self.release(task_id, giver_id)]

    async def expire(self, now: float) -> list[LeaseRef]:
        """Return lapsed leases' keys to the pool; those leases."""
        expired = []
        for ref in self.lapsed(now):
            changed = await self._change(
                self.jobs[ref.job_id],
                block_id_of_task(ref.task_id),
                unlease(ref, lapsed_by=now),
            )
            if changed is not None:
                expired.append(ref)
        return expired

    # Counting results ----------------------------------------------------------------------

    async def apply(self, result: Result, now: float) -> Counted | None:
        """Count `result` if it answers a live copy, and choose among its round's
        results if that settles it; what that settled, or None if it did not
        count. A result with records for keys outside its copy is discarded, and
        charged as an invalidation."""
        counting = self._counting(result, now)
        if counting is None:
            return None
        job = counting.job
        if job.spec.discover:
            await self._discover(job, result, counting)
        changed = await self._change(job, block_id_of_task(result.task_id), counting)
        await self._settle(job, now)
        return None if changed is None else counting.counted(*changed)

    async def count_together(self, results: list[Result], now: float) -> dict[int, Counted]:
        """Count as `apply` would, in one write of the blocks they change, those of
        `results` whose block is at hand (`live_blocks`): what each settled, by its
        place in `results`. The others are left to `apply`, in order, after: those
        that answer no live copy, those of a job that takes discovered keys, and
        every later one of a block where one was left (or its write found the
        block changed meanwhile), so a block's results count in the order given."""
        changes: list[tuple[Job, Block, Block]] = []
        planned: list[tuple[int, Counting]] = []
        at_hand = dict(self.live_blocks)
        for place, result in enumerate(results):
            counting = self._counting(result, now)
            block_id = block_id_of_task(result.task_id)
            # Taken from hand whatever comes of it: a block's later results then wait too.
            block = at_hand.pop(block_id, None)
            if counting is None or block is None or counting.job.spec.discover:
                continue
            new = counting(block)
            if new is None:
                continue
            at_hand[block_id] = new
            planned.append((place, counting))
            changes.append((counting.job, block, new))
        stored = await self._store_all(changes)
        counted: dict[int, Counted] = {}
        for (place, counting), (_, old, new), done in zip(planned, changes, stored, strict=True):
            if done:
                counted[place] = counting.counted(old, new)
        for job in {counting.job.job_id: counting.job for _, counting in planned}.values():
            await self._settle(job, now)
        return counted

    def _counting(self, result: Result, now: float) -> Counting | None:
        """How `result` changes its block, if it answers a live copy."""
        ref = self.leases.get(result.task_id)
        if ref is None or ref.giver_id != result.giver_id:
            return None
        job = self.jobs[ref.job_id]
        redundancy = job.spec.redundancy
        sealed = bool(job.spec.recipient)
        misfit = sealing_misfit(result, sealed)
        digest = ""
        if (
            not misfit
            and redundancy.choice is not Choice.FIRST
            and (redundancy.replicas > 1 or redundancy.adaptive)
        ):
            # The Seeker cannot read a sealed job's records: its Givers' agreement
            # stands for them.
            digest = (
                result.agreement if sealed else comparison_digest(result, redundancy.ignore_fields)
            )
        return Counting(job, result, self.leases, now, digest=digest, misfit=misfit)

    async def _discover(self, job: Job, result: Result, count: Counting) -> None:
        """Add the keys found by the results that counting `result` would choose,
        before it counts (seeker.work.found says why that order loses nothing)."""
        doc = await self.store.block(block_id_of_task(result.task_id))
        if doc is None:
            return
        old = Block.from_doc(doc)
        new = count(old)
        if new is None:
            return
        chosen = {
            run.task_id: run.result_id
            for run in new.runs[len(old.runs) :]
            if run.counts and run.result_id
        }
        keys: list[str] = []
        if chosen.pop(result.task_id, None) == result.result_id:
            keys += result.discovered
        for other in await self._fetch(chosen):
            keys += other.discovered
        await found.add(self.store, job, keys)

    async def invalidate_task(self, task_id: str, giver_id: str, reason: str, now: float) -> bool:
        """A Giver says its scraper misbehaved on `task_id`: whatever it reported is
        discarded and the keys go back, charged one failed attempt."""
        try:
            job = await self.job(job_id_of_task(task_id))
        except UnknownJob:
            log.debug("giver %s invalidated task %s of no known job", giver_id, task_id)
            return False
        await self._reopen(job)
        try:
            changed = await self._change(
                job,
                block_id_of_task(task_id),
                lambda b: (
                    b.invalidated_by_giver(task_id, f"invalidated by giver: {reason}", now)
                    if b.reporter(task_id) == giver_id
                    else None
                ),
            )
        except UnknownBlock:
            changed = None
        await self._settle(job, now)
        if changed is None:
            log.debug("giver %s invalidated task %s, which it has no part in", giver_id, task_id)
        return changed is not None

    async def fail_block(self, job: Job, block: Block, reason: str, now: float) -> None:
        """Fail a block's remaining keys for good: nothing can run them."""
        await self._change(
            job,
            block.block_id,
            lambda b: (
                b.failed_for_good(reason, now, job.spec.max_attempts)
                if b.round is None and b.remaining(job.spec.max_attempts)
                else None
            ),
            block=block,
        )
        await self._settle(job, now)
