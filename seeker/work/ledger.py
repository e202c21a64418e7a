"""The ledger of the Seeker's work: every job and every live lease in memory, every
block in the state store, and the one way a block changes.

Every change to a block is written to the store, over the version it was read
at, before anything acts on it (`_change`); after a crash the store holds the
last state that was acted on, and `load` recounts each open job from its
blocks. The ledger holds never a block's keys (but the few blocks being
changed) and never one object per key. The key manager (seeker.work.manager)
leases, counts and steers on top of it.
"""

import heapq
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from channel.store.base import Channel
from channel.store.factory import store_name
from channel.wire.results import Result
from seeker.errors import ResultsElsewhere, StateUnavailable, UnknownBlock, UnknownJob
from seeker.state.base import StateStore
from seeker.work import found
from seeker.work.blocks import Block, block_id_of_task
from seeker.work.history import Tally
from seeker.work.jobs import FAILED_WINDOW_S, Job, JobStatus

log = logging.getLogger(__name__)

PAGE = 500
# A block changed under us this many times in a row means something else writes it.
CHANGE_TRIES = 5
RESULTS_BATCH = 200
# The deadline heap is rebuilt from the live leases once it holds this many times
# as many entries (those of leases that ended stay in it until popped).
HEAP_SLACK = 2
HEAP_FLOOR = 1000
# A finished job stays in memory this long after it finished, while its rate and
# its failures of the last hour still count in the overview; then the store alone
# holds it, and it is read from there when asked for.
HELD_AFTER_FINISH_S = FAILED_WINDOW_S
FINISHED = (JobStatus.DONE, JobStatus.CANCELLED)


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


class Ledger:
    """The jobs and live leases in memory, the blocks in `store`, the results they
    count in `channel`; a lease lasts its task's limit plus `lease_grace_s`.

    `jobs` holds the jobs not finished, and those finished within
    HELD_AFTER_FINISH_S; older finished jobs are only counted here
    (`stored_only`), and `job()` reads one from the store when it is asked for."""

    def __init__(self, store: StateStore, channel: Channel, *, lease_grace_s: float) -> None:
        self.store = store
        self.channel = channel
        self._grace_s = lease_grace_s
        self.jobs: dict[str, Job] = {}
        self.leases: dict[str, LeaseRef] = {}
        # Blocks with a live copy, as last stored here: a change starts from one
        # instead of reading it (one changed elsewhere fails its versioned write).
        self.live_blocks: dict[str, Block] = {}
        # (deadline, task id) of live leases, soonest first, so lapses are found
        # without a pass over every lease. A deadline moved later leaves its entry
        # early, and a lease that ended leaves its entry behind: both are settled
        # when the entry is popped (see `lapsed`).
        self._deadlines: list[tuple[float, str]] = []
        # Finished jobs the store alone holds, by status.
        self.stored_only: Counter[JobStatus] = Counter()
        # Keys that finished (done or failed for good) since the process started.
        self.keys_finished = 0

    # Loading -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every job and lease held in memory (the store keeps them)."""
        self.jobs.clear()
        self.leases.clear()
        self.live_blocks.clear()
        self._deadlines.clear()
        self.stored_only.clear()

    async def load(self, now: float) -> None:
        """Read the jobs to hold from the store (those not finished, and those finished
        lately); recount those not done from their blocks; count the others."""
        for doc in await self.store.held_jobs(now - HELD_AFTER_FINISH_S):
            job = Job.from_doc(doc)
            if job.status is JobStatus.CREATING:
                log.warning("job %s was being created when the Seeker stopped; removed", job.job_id)
                await self.store.delete_job(job.job_id)
                continue
            # A Channel store that is new, or other than the one before, learns the job.
            if await self.take_results(job):
                await self.store.put_job(job.to_doc())
            if job.status is JobStatus.DONE:
                job.next_seq = await self.store.last_seq(job.job_id) + 1
            else:
                await self.recount(job, now)
            self.jobs[job.job_id] = job
        held = Counter(job.status for job in self.jobs.values())
        for status in FINISHED:
            self.stored_only[status] = await self.store.count_jobs(status) - held[status]
        log.info(
            "%d job(s) and %d lease(s) loaded; %d finished job(s) stay in the store",
            len(self.jobs),
            len(self.leases),
            self.stored_only.total(),
        )

    def unload_finished(self, now: float) -> None:
        """Leave to the store the jobs that finished HELD_AFTER_FINISH_S ago or more."""
        gone = [
            job
            for job in self.jobs.values()
            if job.finished_at is not None and job.finished_at <= now - HELD_AFTER_FINISH_S
        ]
        for job in gone:
            del self.jobs[job.job_id]
            self.stored_only[job.status] += 1

    def hold(self, job: Job) -> None:
        """Hold in memory a finished job read from the store (it is to change)."""
        if job.job_id not in self.jobs:
            self.jobs[job.job_id] = job
            self.stored_only[job.status] -= 1

    def job_counts(self) -> Counter[JobStatus]:
        """How many jobs there are by status: those held and those the store alone holds."""
        counts = Counter(job.status for job in self.jobs.values())
        counts.update(self.stored_only)
        return counts

    async def recount(self, job: Job, now: float) -> None:
        """Sum a job's tally from its blocks and note its leases; a job that is not
        open loses its leases."""
        tally, cut_keys, last_seq, after = Tally(), 0, -1, -1
        job.forget_failures()
        while docs := await self.store.job_blocks(job.job_id, after, PAGE):
            for doc in docs:
                block = Block.from_doc(doc)
                if block.copies and not job.open:
                    changed = await self._change(job, block.block_id, _unlease_all, block=block)
                    assert changed is not None
                    block = changed[1]
                unit = job.unit(block)
                if unit.failed:
                    job.recall_failures(block)
                tally += unit
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
        if block.copies:
            self.live_blocks[block.block_id] = block
        else:
            self.live_blocks.pop(block.block_id, None)
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
                self._due(lease.deadline, lease.task_id)

    def _due(self, deadline: float, task_id: str) -> None:
        """Note that lease `task_id` lapses at `deadline`."""
        heap = self._deadlines
        if len(heap) >= HEAP_SLACK * len(self.leases) + HEAP_FLOOR:
            heap[:] = [(ref.deadline, ref.task_id) for ref in self.leases.values()]
            heapq.heapify(heap)
        heapq.heappush(heap, (deadline, task_id))

    def lapsed(self, now: float) -> list[LeaseRef]:
        """The live leases whose deadline is `now` or earlier, soonest first. They stay
        noted until they end, so one that is not taken back is found again."""
        heap = self._deadlines
        lapsed: dict[str, LeaseRef] = {}
        while heap and heap[0][0] <= now:
            _, task_id = heapq.heappop(heap)
            ref = self.leases.get(task_id)
            if ref is None or task_id in lapsed:
                continue
            if ref.deadline <= now:
                lapsed[task_id] = ref
            else:
                heapq.heappush(heap, (ref.deadline, task_id))
        for ref in lapsed.values():
            heapq.heappush(heap, (ref.deadline, ref.task_id))
        return list(lapsed.values())

    async def job(self, job_id: str) -> Job:
        """A job as held in memory, or else as the store holds it (a finished job, read
        anew each time); UnknownJob if there is none."""
        job = self.jobs.get(job_id)
        if job is not None:
            return job
        doc = await self.store.job(job_id)
        if doc is None:
            raise UnknownJob(job_id)
        job = Job.from_doc(doc)
        job.next_seq = await self.store.last_seq(job_id) + 1
        return job

    # Changing blocks -----------------------------------------------------------------------

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
        None when `change` declined. A block not given starts as `live_blocks` has it,
        if it does; `change` declining that one reads the block anew."""
        at_hand = block is None and (block := self.live_blocks.get(block_id)) is not None
        for _ in range(CHANGE_TRIES):
            if block is None:
                doc = await self.store.block(block_id)
                if doc is None:
                    raise UnknownBlock(block_id)
                block = Block.from_doc(doc)
            new = change(block)
            if new is None and at_hand:
                block, at_hand = None, False
                continue
            if new is None:
                return None
            spec = job.spec
            if await self.store.replace_block(new.to_doc(spec.max_attempts, spec.retry_backoff_s)):
                self._account(job, block, new)
                return block, new
            block, at_hand = None, False
        raise StateUnavailable(
            f"block {block_id} kept changing under the Seeker; is another Seeker "
            "scheduling from the same store?",
            url=self.store.url,
        )

    async def _store_all(self, changes: list[tuple[Job, Block, Block]]) -> list[bool]:
        """Store each change (job, block as read, block as changed) over the version it
        was read at, all in one write where the store can; whether each was stored
        (not: the block changed meanwhile). Changes of one block come in order, each
        over the one before."""
        stored = await self.store.replace_blocks(
            [new.to_doc(job.spec.max_attempts, job.spec.retry_backoff_s) for job, _, new in changes]
        )
        for (job, old, new), done in zip(changes, stored, strict=True):
            if done:
                self._account(job, old, new)
        return stored

    def _account(self, job: Job, old: Block, new: Block) -> None:
        self.keys_finished += max(job.changed(old, new), 0)
        kept = {lease.task_id for lease in new.copies}
        for lease in old.copies:
            if lease.task_id not in kept:
                self.leases.pop(lease.task_id, None)
        self._index(job, new)
        for lease in new.copies:
            ref = self.leases[lease.task_id]
            if lease.deadline < ref.deadline:
                self._due(lease.deadline, lease.task_id)
            ref.deadline = lease.deadline

    async def _settle(self, job: Job, now: float) -> None:
        """Mark the job done, or running again, as its keys say; a cancelled job's
        tally is stored too, so the store holds it exact once it leaves memory."""
        if job.settle(now):
            await self.store.put_job(job.to_doc())
            log.info("job %s %s: %s", job.job_id, job.status.value, job.counts())
        elif job.status is JobStatus.CANCELLED:
            await self.store.put_job(job.to_doc())

    # Reading -------------------------------------------------------------------------------

    async def blocks(self, job_id: str) -> AsyncIterator[Block]:
        """A job's blocks in seq order, a page at a time."""
        await self.job(job_id)
        after = -1
        while docs := await self.store.job_blocks(job_id, after, PAGE):
            for doc in docs:
                yield Block.from_doc(doc)
            after = docs[-1]["seq"]

    async def take_results(self, job: Job) -> bool:
        """This Seeker's Channel takes the job's results from now on: the Channel
        learns the job, and the job notes the Channel. Whether the job changed (a
        Channel new to it: its doc is to be stored)."""
        await self.channel.put_job(job.channel_policy)
        here = store_name(self.channel.url)
        if here in job.channels:
            return False
        job.channels = (*job.channels, here)
        return True

    async def counted_results(self, job_id: str) -> AsyncIterator[Result]:
        """The results counted for a job, block by block."""
        async for wanted in self._counted(job_id):
            for result in await self._fetch(wanted):
                yield result

    async def _fetch(self, wanted: dict[str, str]) -> list[Result]:
        if not wanted:
            return []
        results = await self.channel.results_for_tasks(list(wanted))
        return [r for r in results if wanted.get(r.task_id) == r.result_id]

    async def check_results_here(self, job: Job) -> None:
        """Raise ResultsElsewhere if results counted for the job are missing from
        this Seeker's Channel while the job was counted in another Channel too (it
        was loaded from another Seeker's state, or its Seeker started on another
        store)."""
        here = store_name(self.channel.url)
        elsewhere = tuple(channel for channel in job.channels if channel != here)
        if not elsewhere:
            return
        counted = missing = 0
        async for wanted in self._counted(job.job_id):
            rows = await self.channel.result_rows(list(wanted))
            present = {row.task_id for row in rows if wanted[row.task_id] == row.result_id}
            counted, missing = counted + len(wanted), missing + len(wanted) - len(present)
        if missing:
            raise ResultsElsewhere(job.job_id, missing, counted, here=here, elsewhere=elsewhere)

    async def _counted(self, job_id: str) -> AsyncIterator[dict[str, str]]:
        """The result ids of the job's counted runs by task id, RESULTS_BATCH or so
        at a time."""
        wanted: dict[str, str] = {}
        async for block in self.blocks(job_id):
            wanted.update((r.task_id, r.result_id) for r in block.runs if r.result_id and r.counts)
            if len(wanted) >= RESULTS_BATCH:
                yield wanted
                wanted = {}
        if wanted:
            yield wanted

    async def block_of(self, task_id: str) -> Block | None:
        """The block task `task_id` leases a copy of, as stored now."""
        doc = await self.store.block(block_id_of_task(task_id))
        return Block.from_doc(doc) if doc is not None else None

    def loads(self) -> Counter[str]:
        """How many live leases each Giver holds."""
        return Counter(ref.giver_id for ref in self.leases.values())


def _unlease_all(block: Block) -> Block | None:
    return block.unleased_all() if block.copies else None


def unlease(ref: LeaseRef, *, lapsed_by: float | None = None) -> Callable[[Block], Block | None]:
    """A change that takes copy `ref` back from its Giver: whoever holds it, or with
    `lapsed_by` only if that Giver still holds it and it lapsed by then."""

    def change(block: Block) -> Block | None:
        if lapsed_by is None:
            held = bool(block.holder(ref.task_id))
        else:
            held = holds(block, ref.task_id, ref.giver_id, lapsed_by=lapsed_by)
        return block.unleased(ref.task_id) if held else None

    return change


def holds(block: Block, task_id: str, giver_id: str, lapsed_by: float | None = None) -> bool:
    """Whether `giver_id` holds copy `task_id` (lapsed by then, if `lapsed_by` is given)."""
    lease = block.copy(task_id)
    return (
        lease is not None
        and lease.giver_id == giver_id
        and (lapsed_by is None or lease.deadline <= lapsed_by)
    )
