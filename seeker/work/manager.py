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

from channel.store.base import Channel
from channel.wire.models import Task
from channel.wire.results import Result
from seeker.errors import JobConflict, StateUnavailable, UnknownBlock, UnknownJob
from seeker.state.base import StateStore
from seeker.work import found
from seeker.work.blocks import Block, block_id, block_id_of_task, job_id_of_task
from seeker.work.choice import Choice, comparison_digest
from seeker.work.history import Run, Tally
from seeker.work.jobs import Job, JobStatus

log = logging.getLogger(__name__)

PAGE = 500
# A block changed under us this many times in a row means something else writes it.
CHANGE_TRIES = 5
RESULTS_BATCH = 200


@dataclass(slots=True)
class LeaseRef:
    """A live lease (one copy of a block), as the coordinator needs it without
    reading the block."""

    task_id: str
    job_id: str
    giver_id: str
    deadline: float
    keys: int
    leased_at: float
    progress: int = 0


@dataclass(frozen=True, slots=True)
class Counted:
    """What counting a result settled: the copies no longer wanted (to cancel),
    the results of a round that compared copies, as judged, and whether the result
    itself was discarded (it claimed keys outside its task, or was not sealed as
    its job requires)."""

    cancelled: list[LeaseRef]
    judged: list[Run]
    discarded: bool = False


class KeyManager:
    def __init__(self, store: StateStore, channel: Channel, *, lease_grace_s: float) -> None:
        self.store = store
        self.channel = channel
        self._grace_s = lease_grace_s
        self.jobs: dict[str, Job] = {}
        self.leases: dict[str, LeaseRef] = {}

    # Loading --------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every job and lease held in memory (the store keeps them)."""
        self.jobs.clear()
        self.leases.clear()

    async def load(self, now: float) -> None:
        """Read every job from the store; recount those not done from their blocks."""
        for doc in await self.store.jobs():
            job = Job.from_doc(doc)
            if job.status is JobStatus.CREATING:
                log.warning("job %s was being created when the Seeker stopped; removed", job.job_id)
                await self.store.delete_job(job.job_id)
                continue
            # A Channel store that is new, or other than the one before, learns the job.
            await self.channel.put_job(job.channel_policy)
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
                if block.copies and not job.open:
                    changed = await self._change(job, block.block_id, _unlease_all, block=block)
                    assert changed is not None
                    block = changed[1]
                tally += job.unit(block)
                cut_keys += len(block.keys)
                last_seq = block.seq
                self._index(job, block)
            after = docs[-1]["seq"]
        if job.spec.discover:
            # Every key of such a job is in a block; blocks of keys it discovered may
            # have been written after the job was.
            job.total, job.block_count = cut_keys, last_seq + 1
            job.discovered = await self.store.count_claimed(job.job_id, job.seed_blocks)
        job.tally = tally + Tally(pending=job.total - cut_keys)
        job.next_seq = last_seq + 1
        if job.spec.discover and job.open:
            await found.recover(self.store, job)
        if job.settle(now) or job.status is JobStatus.CANCELLED:
            await self.store.put_job(job.to_doc())

    def _index(self, job: Job, block: Block) -> None:
        for lease in block.copies:
            if lease.task_id not in self.leases:
                self.leases[lease.task_id] = LeaseRef(
                    lease.task_id,
                    job.job_id,
                    lease.giver_id,
                    lease.deadline,
                    len(lease.keys),
                    lease.leased_at,
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
    ) -> tuple[Block, Block] | None:
        """Apply `change` to a block and store it over the version it was read at,
        reading it again if it changed meanwhile. The block before and after, or
        None when `change` declined."""
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
                return block, new
            block = None
        raise StateUnavailable(
            f"block {block_id} kept changing under the Seeker; is another Seeker "
            "scheduling from the same store?",
            url=self.store.url,
        )

    def _account(self, job: Job, old: Block, new: Block) -> None:
        job.changed(old, new)
        kept = {lease.task_id for lease in new.copies}
        for lease in old.copies:
            if lease.task_id not in kept:
                self.leases.pop(lease.task_id, None)
        self._index(job, new)
        for lease in new.copies:
            self.leases[lease.task_id].deadline = lease.deadline

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

    async def lease(
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
    ) -> tuple[Task, Block] | None:
        """Lease a copy of `block` (as last read) to a Giver that runs `image` (the
        job's image for its architecture): the Task to send it and the block as
        leased, or None if the block changed meanwhile. A block with no round under
        way opens one that wants `wanted` copies, `quorum` agreeing; a `tail` copy
        doubles a copy out on a slow Giver."""
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
        changed = await self._change(
            job,
            block.block_id,
            lambda b: (
                b.leased_to(giver_id, now, deadline, keys, quorum=quorum, wanted=wanted, tail=tail)
                if b == block
                else None
            ),
            block=block,
        )
        if changed is None:
            return None
        new = changed[1]
        lease = new.copies[-1]
        if job.status is not JobStatus.RUNNING:
            # Paused or cancelled while the lease was written: take it back.
            await self.release(lease.task_id, giver_id)
            return None
        spec = job.spec
        task = Task(
            task_id=lease.task_id,
            job_id=job.job_id,
            image=image,
            settings=spec.settings,
            block=keys,
            network=spec.network,
            limits=spec.limits,
            seal_to=spec.recipient,
            agreement_key=job.agreement_key,
            # Only a sealed job's Givers compare records themselves.
            ignore_fields=spec.redundancy.ignore_fields if spec.recipient else (),
            captures=spec.captures,
            discover=spec.discover,
        )
        return task, new

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
            lambda b: b.with_deadline(task_id, deadline) if _holds(b, task_id, giver_id) else None,
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
        changed = await self._change(
            self.jobs[ref.job_id],
            block_id_of_task(task_id),
            lambda b: (
                b.unleased(task_id, refusal=refusal, released=released)
                if _holds(b, task_id, giver_id)
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
        lapsed = [ref for ref in self.leases.values() if ref.deadline <= now]
        expired = []
        for ref in lapsed:
            changed = await self._change(
                self.jobs[ref.job_id],
                block_id_of_task(ref.task_id),
                _unlease(ref, lapsed_by=now),
            )
            if changed is not None:
                expired.append(ref)
        return expired

    async def apply(self, result: Result, now: float) -> Counted | None:
        """Count `result` if it answers a live copy, and choose among its round's
        results if that settles it; what that settled, or None if it did not
        count. A result with records for keys outside its copy is discarded, and
        charged as an invalidation."""
        ref = self.leases.get(result.task_id)
        if ref is None or ref.giver_id != result.giver_id:
            return None
        job = self.jobs[ref.job_id]
        redundancy = job.spec.redundancy
        sealed = bool(job.spec.recipient)
        misfit = _sealing_misfit(result, sealed)
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

        discarded: list[str] = []

        def count(block: Block) -> Block | None:
            lease = block.copy(result.task_id)
            if lease is None or lease.giver_id != result.giver_id:
                return None
            allowed = lease.keys if lease.keys.start is not None else set(lease.keys)
            stray = next((r["key"] for r in result.records if r["key"] not in allowed), "")
            why = misfit
            if result.job_id != job.job_id or stray:
                what = f"key {stray!r}" if stray else f"job {result.job_id}"
                why = f"claims {what} outside its task"
            if why:
                discarded.append(why)
                return block.invalidated_by_giver(
                    result.task_id, f"result {result.result_id} {why}; discarded", now
                )
            return block.counted(
                result,
                now,
                digest=digest,
                choice=redundancy.choice,
                max_extra=redundancy.max_extra_copies,
            )

        if job.spec.discover:
            await self._discover(job, result, count)
        cancel = {t: r for t, r in self.leases.items() if r.job_id == job.job_id}
        changed = await self._change(job, block_id_of_task(result.task_id), count)
        await self._settle(job, now)
        if changed is None:
            return None
        old, new = changed
        still = {lease.task_id for lease in new.copies}
        cancelled = [
            cancel[lease.task_id]
            for lease in old.copies
            if lease.task_id not in still
            and lease.task_id != result.task_id
            and lease.task_id in cancel
        ]
        judged = [run for run in new.runs[len(old.runs) :] if run.digest and run.result_id]
        return Counted(cancelled, judged, discarded=bool(discarded))

    async def _discover(
        self, job: Job, result: Result, count: Callable[[Block], Block | None]
    ) -> None:
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
        job = self.jobs.get(job_id_of_task(task_id))
        if job is None:
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
                changed = await self._change(
                    job,
                    block_id_of_task(ref.task_id),
                    _unlease(ref),
                )
                if changed is not None:
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
        touched: dict[str, Job] = {}
        for doc in await self.store.giver_blocks(giver_id):
            block = Block.from_doc(doc)
            job = self.jobs.get(block.job_id)
            if job is None:
                continue
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
            wanted.update((r.task_id, r.result_id) for r in block.runs if r.result_id and r.counts)
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

    async def block_of(self, task_id: str) -> Block | None:
        """The block task `task_id` leases a copy of, as stored now."""
        doc = await self.store.block(block_id_of_task(task_id))
        return Block.from_doc(doc) if doc is not None else None

    def load_of(self, giver_id: str) -> int:
        return sum(1 for ref in self.leases.values() if ref.giver_id == giver_id)


def _unlease(ref: LeaseRef, *, lapsed_by: float | None = None) -> Callable[[Block], Block | None]:
    """A change that takes copy `ref` back from its Giver: whoever holds it, or with
    `lapsed_by` only if that Giver still holds it and it lapsed by then."""

    def change(block: Block) -> Block | None:
        if lapsed_by is None:
            held = bool(block.holder(ref.task_id))
        else:
            held = _holds(block, ref.task_id, ref.giver_id, lapsed_by=lapsed_by)
        return block.unleased(ref.task_id) if held else None

    return change


def _holds(block: Block, task_id: str, giver_id: str, lapsed_by: float | None = None) -> bool:
    """Whether `giver_id` holds copy `task_id` (lapsed by then, if `lapsed_by` is given)."""
    lease = block.copy(task_id)
    return (
        lease is not None
        and lease.giver_id == giver_id
        and (lapsed_by is None or lease.deadline <= lapsed_by)
    )


def _sealing_misfit(result: Result, sealed: bool) -> str:
    """Why `result` does not fit its job's sealing (records all sealed and an
    agreement, or none sealed), or ""."""
    if sealed and not result.agreement:
        return "has no agreement, though its job is sealed"
    form = "data" if sealed else "sealed"
    odd = next((r["key"] for r in result.records if form in r), None)
    if odd is None:
        return ""
    return (
        f"holds record {odd!r} in the clear, though its job is sealed"
        if sealed
        else f"holds record {odd!r} sealed, though its job is not"
    )


def _unlease_all(block: Block) -> Block | None:
    return block.unleased_all() if block.copies else None
