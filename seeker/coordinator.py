"""The Seeker's main loop: lease blocks to Givers, collect results.

One loop does both, woken by anything that may change what to do (a job
submitted, a Giver connected, a result announced) and at least every
`poll_interval_s`: expire lapsed leases, poll the Channel for the results of
leased tasks, then lease ready blocks to Givers with free slots.

Jobs share the Givers by priority: each free slot goes to the running job
with the fewest leases per unit of priority, so a job of priority 20 holds
about twice the slots of one of priority 10 while both have work.
"""

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from channel import messages
from channel.errors import StoreUnavailable
from seeker.blocks import Block
from seeker.errors import SeekerError
from seeker.givers import GiverEntry, GiverRegistry, GiverSession
from seeker.jobs import Job, JobStatus
from seeker.work import KeyManager, LeaseRef

log = logging.getLogger(__name__)
# A Giver whose connection takes longer than this to take a message is dropped,
# so one stuck connection cannot hold up assignments to every other Giver.
SEND_TIMEOUT_S = 10.0
# Results counted and blocks leased per round at most, so that on a slow store
# neither waits long behind the other; a capped round wakes the loop at once.
STEP_BATCH = 100
# Task ids per query to the Channel (SQLite allows some 32,000 parameters).
QUERY_BATCH = 500


class Coordinator:
    """Decides which Giver runs which block; the key manager records it."""

    def __init__(self, keys: KeyManager, givers: GiverRegistry, *, poll_interval_s: float) -> None:
        self.keys = keys
        self._givers = givers
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._store_warned = False

    def wake(self) -> None:
        self._wake.set()

    def attach(self, session: GiverSession) -> GiverSession | None:
        previous = self._givers.attach(session)
        self._wake.set()
        return previous

    def detach(self, session: GiverSession) -> None:
        self._givers.detach(session)
        self._wake.set()

    async def on_message(self, giver_id: str, message: messages.Message) -> None:
        """Handle a message a Giver sent over its session."""
        self._givers.seen(giver_id)
        now = time.time()
        keys = self.keys
        match message:
            case messages.Progress(task_id=task_id, done=done):
                await keys.renew(task_id, giver_id, done, now)
            case messages.Refuse(task_id=task_id, reason=reason):
                log.info("giver %s refused task %s: %s", giver_id, task_id, reason)
                await keys.release(task_id, giver_id, refusal=reason)
            case messages.Release(task_id=task_id, reason=reason):
                if await keys.release(task_id, giver_id, released=True):
                    log.info("giver %s released task %s: %s", giver_id, task_id, reason)
            case messages.Invalidate(task_id=task_id, reason=reason):
                if await keys.invalidate_task(task_id, giver_id, reason, now):
                    log.warning("giver %s invalidated task %s: %s", giver_id, task_id, reason)
            case messages.Done() | messages.Accept():
                pass
            case _:
                log.warning("giver %s sent an unexpected %s message", giver_id, message.TYPE)
        if not isinstance(message, messages.Progress | messages.Accept):
            self._wake.set()

    async def cancel(self, taken: list[LeaseRef]) -> None:
        """Tell the Givers holding `taken` leases to stop those tasks."""
        for ref in taken:
            entry = self._givers.get(ref.giver_id)
            if entry is not None and entry.session is not None:
                try:
                    async with asyncio.timeout(SEND_TIMEOUT_S):
                        await entry.session.send(messages.Cancel(ref.task_id))
                except (ConnectionError, RuntimeError, TimeoutError) as e:
                    log.debug("cannot cancel task %s on giver %s: %s", ref.task_id, ref.giver_id, e)

    async def run(self) -> None:
        """Coordinate until cancelled."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)
            except TimeoutError:
                pass
            # A set event is waited for without suspending: let others run every round.
            await asyncio.sleep(0)
            self._wake.clear()
            try:
                await self.step()
            except (SeekerError, StoreUnavailable) as e:
                level = logging.DEBUG if self._store_warned else logging.WARNING
                log.log(level, "coordinator step failed: %s; trying again", e)
                self._store_warned = True
            except Exception:
                log.exception("coordinator step failed; trying again at the next one")
            else:
                self._store_warned = False

    async def step(self) -> None:
        """One round: expire leases, collect results, assign blocks."""
        now = time.time()
        for task_id in await self.keys.expire(now):
            log.warning("lease on task %s lapsed; its keys are back in the pool", task_id)
        await self._collect(now)
        await self._assign(now)

    async def _collect(self, now: float) -> None:
        leases = self.keys.leases
        leased = list(leases)
        results = []
        for start in range(0, len(leased), QUERY_BATCH):
            found = await self.keys.channel.results_for_tasks(leased[start : start + QUERY_BATCH])
            # Only the lease holder's results can count: others are never fetched twice
            # in a round, nor can they crowd the holder's out of it.
            results += [
                r for r in found if (ref := leases.get(r.task_id)) and ref.giver_id == r.giver_id
            ]
        if len(results) > STEP_BATCH:
            results = results[:STEP_BATCH]
            self._wake.set()
        for result in results:
            try:
                counted = await self.keys.apply(result, now)
            except SeekerError as e:
                log.warning("result %s of task %s: %s", result.result_id, result.task_id, e)
                continue
            if counted:
                log.debug(
                    "task %s: result %s from giver %s counted",
                    result.task_id,
                    result.result_id,
                    result.giver_id,
                )

    async def _assign(self, now: float) -> None:
        online = self._givers.online()
        load = Counter(ref.giver_id for ref in self.keys.leases.values())
        free = sum(max(0, g.info.capabilities.slots - load[g.info.giver_id]) for g in online)
        capped, free = free > STEP_BATCH, min(free, STEP_BATCH)
        active = Counter(ref.job_id for ref in self.keys.leases.values())
        jobs = [j for j in self.keys.jobs.values() if j.status is JobStatus.RUNNING]
        queues: dict[str, list[Block]] = {}
        for job in jobs:
            if job.tally.pending:
                queues[job.job_id] = await self.keys.ready(job, now, free)
        while free > 0:
            waiting = [j for j in jobs if queues.get(j.job_id)]
            if not waiting:
                return
            job = min(waiting, key=lambda j: (active[j.job_id] + 1) / j.priority)
            block = queues[job.job_id].pop(0)
            giver = self._choose(block, online, load)
            if giver is None:
                if online and all(g.info.giver_id in block.refused for g in online):
                    reasons = "; ".join(f"{g}: {r}" for g, r in sorted(block.refused.items()))
                    await self.keys.fail_block(
                        job, block, f"refused by every Giver ({reasons})", now
                    )
                continue
            if await self._send(job, block, giver):
                load[giver.info.giver_id] += 1
                active[job.job_id] += 1
                free -= 1
        if capped:
            self._wake.set()

    def _choose(
        self, block: Block, online: list[GiverEntry], load: Counter[str]
    ) -> GiverEntry | None:
        """The Giver with the most free slots that has not refused the block,
        preferring one that has not failed on it."""
        best, best_rank = None, (False, 0)
        for giver in online:
            giver_id = giver.info.giver_id
            free_slots = giver.info.capabilities.slots - load[giver_id]
            if free_slots <= 0 or giver_id in block.refused:
                continue
            rank = (giver_id not in block.shunned, free_slots)
            if best is None or rank > best_rank:
                best, best_rank = giver, rank
        return best

    async def _send(self, job: Job, block: Block, giver: GiverEntry) -> bool:
        """Lease `block` to `giver` (stored first), then send it; whether it went."""
        giver_id, session = giver.info.giver_id, giver.session
        assert session is not None
        task = await self.keys.lease(job, block, giver_id, time.time())
        if task is None:
            return False
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await session.send(messages.Assign(task))
        except (ConnectionError, RuntimeError, TimeoutError) as e:
            log.warning(
                "cannot send task %s to giver %s: %s",
                task.task_id,
                giver_id,
                e or f"no progress in {SEND_TIMEOUT_S:g} s; closing its session",
            )
            await self.keys.release(task.task_id, giver_id)
            if isinstance(e, TimeoutError):
                await session.close()
            return False
        return True

    def view(self) -> dict[str, Any]:
        return {"jobs": [self.job_view(job) for job in self.keys.jobs.values()]}

    def job_view(self, job: Job) -> dict[str, Any]:
        progress = sum(r.progress for r in self.keys.leases.values() if r.job_id == job.job_id)
        return {**job.view(), "leased_progress": progress}
