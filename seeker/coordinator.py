"""The Seeker's main loop: lease pending tasks to Givers, collect results.

One loop does both, woken by anything that may change what to do (a job
submitted, a Giver connected, a result announced) and at least every
`poll_interval_s`: expire lapsed leases, poll the Channel for the results of
leased tasks, then lease pending tasks to Givers with free slots.
"""

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from channel import messages
from channel.base import Channel
from channel.errors import StoreUnavailable
from seeker.errors import UnknownJob
from seeker.givers import GiverEntry, GiverRegistry, GiverSession
from seeker.spec import JobSpec
from seeker.work import Job, TaskState

log = logging.getLogger(__name__)
# A Giver whose connection takes longer than this to take a message is dropped,
# so one stuck connection cannot hold up assignments to every other Giver.
SEND_TIMEOUT_S = 10.0


class Coordinator:
    """Owns the jobs and decides which Giver runs which task."""

    def __init__(
        self,
        channel: Channel,
        givers: GiverRegistry,
        *,
        poll_interval_s: float,
        lease_grace_s: float,
    ) -> None:
        self._channel = channel
        self._givers = givers
        self._poll_interval_s = poll_interval_s
        self._lease_grace_s = lease_grace_s
        self._jobs: dict[str, Job] = {}
        self._wake = asyncio.Event()
        self._store_warned = False

    def submit(self, spec: JobSpec) -> Job:
        job = Job(spec)
        self._jobs[job.job_id] = job
        log.info(
            "job %s: %d keys of %s in %d tasks",
            job.job_id,
            len(spec.keys),
            spec.image,
            len(job.tasks),
        )
        self._wake.set()
        return job

    def job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UnknownJob(job_id)
        return job

    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def attach(self, session: GiverSession) -> GiverSession | None:
        previous = self._givers.attach(session)
        self._wake.set()
        return previous

    def detach(self, session: GiverSession) -> None:
        self._givers.detach(session)
        self._wake.set()

    def on_message(self, giver_id: str, message: messages.Message) -> None:
        """Handle a message a Giver sent over its session."""
        self._givers.seen(giver_id)
        match message:
            case messages.Progress(task_id=task_id, done=done):
                job = self._job_of(task_id)
                if job is not None:
                    job.renew(task_id, giver_id, done, time.monotonic(), self._lease_grace_s)
            case messages.Refuse(task_id=task_id, reason=reason):
                log.info("giver %s refused task %s: %s", giver_id, task_id, reason)
                job = self._job_of(task_id)
                if job is not None:
                    job.release(task_id, giver_id, refusal=reason)
                self._wake.set()
            case messages.Done():
                self._wake.set()
            case messages.Accept():
                pass
            case _:
                log.warning("giver %s sent an unexpected %s message", giver_id, message.TYPE)

    def _job_of(self, task_id: str) -> Job | None:
        return self._jobs.get(task_id.rpartition("-")[0])

    async def run(self) -> None:
        """Coordinate until cancelled."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.step()
            except Exception:
                log.exception("coordinator step failed; trying again at the next one")

    async def step(self) -> None:
        """One round: expire leases, collect results, assign tasks."""
        now = time.monotonic()
        active = [job for job in self._jobs.values() if not job.finished]
        for job in active:
            for task_id in job.expire(now):
                log.warning("lease on task %s lapsed; back to the pool", task_id)
        await self._collect(active)
        await self._assign(active)

    async def _collect(self, jobs: list[Job]) -> None:
        leased = {t.task.task_id: job for job in jobs for t in job.leased()}
        if not leased:
            return
        try:
            results = await self._channel.results_for_tasks(leased)
        except StoreUnavailable as e:
            level = logging.DEBUG if self._store_warned else logging.WARNING
            log.log(level, "cannot poll the Channel: %s", e)
            self._store_warned = True
            return
        self._store_warned = False
        for result in results:
            if leased[result.task_id].apply_result(result):
                log.debug(
                    "task %s: result %s from giver %s counted",
                    result.task_id,
                    result.result_id,
                    result.giver_id,
                )

    async def _assign(self, jobs: list[Job]) -> None:
        online = self._givers.online()
        load = Counter(t.lease.giver_id for job in jobs for t in job.leased() if t.lease)
        for job in jobs:
            for state in list(job.pending()):
                if not online:
                    return
                giver = self._choose(state, online, load)
                if giver is None:
                    if all(g.info.giver_id in state.refused_by for g in online):
                        job.fail_refused(state.task.task_id)
                    continue
                await self._send(job, state, giver, load)

    def _choose(
        self, state: TaskState, online: list[GiverEntry], load: Counter[str]
    ) -> GiverEntry | None:
        """The Giver with the most free slots that has not refused this task."""
        best, best_free = None, 0
        for giver in online:
            free = giver.info.capabilities.slots - load[giver.info.giver_id]
            if free > best_free and giver.info.giver_id not in state.refused_by:
                best, best_free = giver, free
        return best

    async def _send(
        self, job: Job, state: TaskState, giver: GiverEntry, load: Counter[str]
    ) -> None:
        giver_id, session = giver.info.giver_id, giver.session
        assert session is not None
        task = job.lease(state.task.task_id, giver_id, time.monotonic(), self._lease_grace_s)
        load[giver_id] += 1
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
            job.release(task.task_id, giver_id)
            load[giver_id] -= 1
            if isinstance(e, TimeoutError):
                await session.close()

    def view(self) -> dict[str, Any]:
        return {"jobs": [job.view() for job in self._jobs.values()]}
