"""Periodic jobs: keeping schedules, and the leader's loop that fires them.

Only the Seeker holding the leader lease runs the loop. Firing a tick is a
few single-document writes, each safe to repeat:

1. the schedule records the tick it fires (`firing`), over the version it was
   read at; from then on that tick is the one to finish, whoever finishes it;
2. the ticks no Seeker fired in time before it, if any, are recorded as one
   `missed` run;
3. the tick's job is made under the id the schedule and tick give it (or,
   with `overlap` "skip", not made while the previous tick's job still runs),
   and the tick's run is recorded; the runs are pruned to `keep_runs`;
4. the schedule moves to its next tick and forgets `firing`.

A Seeker that stops anywhere in between leaves the next leader the same tick
to finish, and a job whose id exists already is not made again, so a tick is
neither lost nor doubled.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channel.errors import StoreUnavailable
from seeker.catalog.store import Catalog
from seeker.errors import (
    InvalidJob,
    InvalidSchedule,
    JobConflict,
    SeekerError,
    StateUnavailable,
    UnknownJob,
    UnknownSchedule,
)
from seeker.grid import actions
from seeker.grid.coordinator import Coordinator
from seeker.schedules.model import (
    Due,
    Overlap,
    RunOutcome,
    Schedule,
    ScheduleRun,
    parse_schedule,
    schedule_job_spec,
)
from seeker.state.base import StateStore
from seeker.work.jobs import Job

log = logging.getLogger(__name__)

# The loop looks at the schedules at least this often, so that a wall clock set
# forward or back, or a schedule another Seeker changed, is noticed.
RECHECK_S = 60.0
# After a failed pass (the store unreachable, say) the loop tries again this soon.
RETRY_S = 5.0
# A schedule changed under us this many times in a row means something else writes it.
CHANGE_TRIES = 5


@dataclass(frozen=True, slots=True)
class Clock:
    """Wall-clock time (epoch seconds) and a way to wait; tests pass their own."""

    now: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class PeriodicJobs:
    """The schedules in the state store; `run()` fires them while this Seeker leads."""

    def __init__(
        self,
        store: StateStore,
        coordinator: Coordinator,
        catalog: Catalog,
        *,
        scratch_dir: Path,
        clock: Clock,
    ) -> None:
        self._store = store
        self._coordinator = coordinator
        self._catalog = catalog
        self._scratch_dir = scratch_dir
        self._clock = clock
        self._wake = asyncio.Event()
        # Firing a schedule and changing it through the API take turns.
        self._lock = asyncio.Lock()
        self._warned = False

    def wake(self) -> None:
        self._wake.set()

    # Keeping schedules ----------------------------------------------------------

    async def add(self, body: object) -> Schedule:
        """Validate and store a new schedule; InvalidSchedule stores nothing."""
        job = body.get("job") if isinstance(body, dict) else None
        schedule = parse_schedule(body, self._clock.now(), resolved_job=await self._resolved(job))
        async with self._lock:
            for other in await self.schedules():
                if other.name == schedule.name:
                    raise InvalidSchedule(
                        f"a schedule named {schedule.name!r} exists already ({other.schedule_id})",
                        field="name",
                    )
            await self._store.insert_schedule(schedule.to_doc())
        log.info("schedule %s (%s) added", schedule.schedule_id, schedule.name)
        self.wake()
        return schedule

    async def schedules(self) -> list[Schedule]:
        return [Schedule.from_doc(doc) for doc in await self._store.schedules()]

    async def find(self, ref: str) -> Schedule:
        """The schedule of id `ref`, or else the one named `ref`; UnknownSchedule."""
        doc = await self._store.schedule(ref)
        if doc is not None:
            return Schedule.from_doc(doc)
        named = [s for s in await self.schedules() if s.name == ref]
        if not named:
            raise UnknownSchedule(ref)
        return named[0]

    async def runs(self, schedule_id: str) -> list[ScheduleRun]:
        """A schedule's runs, latest tick first."""
        return [ScheduleRun.from_doc(doc) for doc in await self._store.runs(schedule_id)]

    async def pause(self, ref: str) -> Schedule:
        """Fire no tick of the schedule until it is resumed."""
        return await self._change(ref, lambda s: None if s.paused else s.bumped(paused=True))

    async def resume(self, ref: str) -> Schedule:
        """Fire the schedule again from its next tick after now; the ticks that passed
        while it was paused are not made up for."""
        now = self._clock.now()
        schedule = await self._change(
            ref,
            lambda s: (
                s.bumped(paused=False, next_at=s.timing.next_after(now)) if s.paused else None
            ),
        )
        self.wake()
        return schedule

    async def remove(self, ref: str) -> Schedule:
        """Delete a schedule and its runs; the jobs it made stay."""
        async with self._lock:
            schedule = await self.find(ref)
            await self._store.delete_schedule(schedule.schedule_id)
        log.info("schedule %s (%s) removed", schedule.schedule_id, schedule.name)
        return schedule

    async def _change(self, ref: str, change: Callable[[Schedule], Schedule | None]) -> Schedule:
        """Apply `change` to a schedule (None: nothing to change) and store it."""
        async with self._lock:
            schedule_id = (await self.find(ref)).schedule_id
            return await self._replace(schedule_id, change)

    async def _replace(
        self, schedule_id: str, change: Callable[[Schedule], Schedule | None]
    ) -> Schedule:
        """Store `change(schedule)` over the version it was read at, reading it again
        if it changed meanwhile; the schedule as stored afterwards."""
        for _ in range(CHANGE_TRIES):
            doc = await self._store.schedule(schedule_id)
            if doc is None:
                raise UnknownSchedule(schedule_id)
            schedule = Schedule.from_doc(doc)
            new = change(schedule)
            if new is None:
                return schedule
            if await self._store.replace_schedule(new.to_doc()):
                return new
        raise self._conflict(schedule_id)

    # Firing -----------------------------------------------------------------------

    async def run(self) -> None:
        """Fire schedules as they fall due, until cancelled."""
        while True:
            self._wake.clear()
            try:
                wait_s = await self.fire_due()
            except (SeekerError, StoreUnavailable) as e:
                self._failed(f"cannot read the schedules: {e}")
                wait_s = RETRY_S
            except Exception:
                log.exception("firing schedules failed; trying again in %.0f s", RETRY_S)
                wait_s = RETRY_S
            await self._wait(wait_s)

    def _failed(self, what: str) -> None:
        """Log a failure to fire: at warning, then at debug until a pass succeeds."""
        level = logging.DEBUG if self._warned else logging.WARNING
        log.log(level, "%s; trying again in %.0f s", what, RETRY_S)
        self._warned = True

    async def _wait(self, wait_s: float) -> None:
        """Until `wait_s` has passed on the clock, or a schedule was added or resumed."""
        woken = asyncio.ensure_future(self._wake.wait())
        slept = asyncio.ensure_future(self._clock.sleep(wait_s))
        try:
            await asyncio.wait({woken, slept}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            slept.cancel()
            await asyncio.gather(woken, slept, return_exceptions=True)

    async def fire_due(self) -> float:
        """Fire every schedule due now; how long until one may be due next. A schedule
        that fails to fire (the store unreachable, say) is tried again in RETRY_S,
        and holds up no other."""
        now = self._clock.now()
        failed: set[str] = set()
        for schedule in await self.schedules():
            if schedule.firing is not None or (not schedule.paused and schedule.next_at <= now):
                try:
                    await self.fire(schedule.schedule_id, now)
                except (SeekerError, StoreUnavailable) as e:
                    self._failed(f"schedule {schedule.schedule_id} ({schedule.name}): {e}")
                    failed.add(schedule.schedule_id)
        if not failed:
            self._warned = False
        upcoming = [
            _look_again_at(s, now, failed)
            for s in await self.schedules()
            if s.firing is not None or not s.paused
        ]
        wait_s = min(upcoming, default=now + RECHECK_S) - self._clock.now()
        return min(max(wait_s, 0.0), RECHECK_S)

    async def fire(self, schedule_id: str, now: float) -> None:
        """Fire the schedule's due tick, if it has one at `now` (steps 1 to 4)."""
        async with self._lock:
            doc = await self._store.schedule(schedule_id)
            if doc is None:
                return
            schedule = Schedule.from_doc(doc)
            due = await asyncio.to_thread(schedule.due, now)
            if due is None:
                return
            if schedule.firing is None:
                schedule = await self.mark_firing(schedule, due)
            run = await self.make_tick_job(schedule, due)
            await self.record(schedule, due, run)
            await self.advance(schedule, due, run)

    async def mark_firing(self, schedule: Schedule, due: Due) -> Schedule:
        """Record in the schedule the tick it fires (step 1)."""
        firing = schedule.bumped(firing=due)
        if not await self._store.replace_schedule(firing.to_doc()):
            raise self._conflict(schedule.schedule_id)
        return firing

    async def make_tick_job(self, schedule: Schedule, due: Due) -> ScheduleRun:
        """Make the job of the tick `due.tick` (step 3), or say why not."""
        job_id = schedule.job_id_for(due.tick)
        keys = self._coordinator.keys
        previous = self._running(schedule.last_job_id)
        if await keys.store.job(job_id) is not None:
            # Made before the Seeker that fired the tick stopped.
            outcome, reason = RunOutcome.CREATED, ""
        elif schedule.overlap is Overlap.SKIP and previous is not None:
            outcome = RunOutcome.SKIPPED
            reason = f"job {previous.job_id} of an earlier tick is still {previous.status.value}"
        else:
            try:
                spec = schedule_job_spec(await self._resolved(schedule.job))
                await actions.make_job(
                    self._coordinator, spec, scratch_dir=self._scratch_dir, job_id=job_id
                )
                outcome, reason = RunOutcome.CREATED, ""
            except (InvalidSchedule, InvalidJob) as e:
                outcome, reason = RunOutcome.FAILED, str(e)
        made = job_id if outcome is RunOutcome.CREATED else None
        return ScheduleRun(schedule.schedule_id, due.tick, outcome, reason, self._clock.now(), made)

    async def _resolved(self, job: Any) -> Any:
        """A job body naming a catalog scraper as one naming its images (resolved at
        each tick, so a tick runs the scraper as the catalog has it then)."""
        if not isinstance(job, dict):
            return job
        try:
            return await self._catalog.resolve(job)
        except InvalidJob as e:
            raise InvalidSchedule(f"job: {e}", field=f"job.{e.field}" if e.field else "job") from e

    def _running(self, job_id: str | None) -> Job | None:
        """The job `job_id` if it is still running or paused."""
        job = self._coordinator.keys.jobs.get(job_id) if job_id else None
        return job if job is not None and job.open else None

    async def record(self, schedule: Schedule, due: Due, run: ScheduleRun) -> None:
        """Record the ticks missed before this one, and what this one did; prune the
        schedule's runs to its `keep_runs`."""
        if due.missed:
            between = (
                f"at {utc_time(due.first_missed)}"
                if due.missed == 1
                else f"from {utc_time(due.first_missed)} to {utc_time(due.last_missed)}"
            )
            missed = ScheduleRun(
                schedule.schedule_id,
                due.first_missed,
                RunOutcome.MISSED,
                f"missed {due.missed} tick(s) {between} while no Seeker led",
                run.at,
            )
            await self._store.put_run(missed.to_doc())
            log.warning("schedule %s (%s) %s", schedule.schedule_id, schedule.name, missed.reason)
        await self._store.put_run(run.to_doc())
        await self.prune(schedule)
        log.log(
            logging.WARNING if run.outcome is RunOutcome.FAILED else logging.INFO,
            "schedule %s (%s), tick %s: %s %s",
            schedule.schedule_id,
            schedule.name,
            utc_time(due.tick),
            run.outcome.value,
            run.job_id or run.reason,
        )

    async def prune(self, schedule: Schedule) -> None:
        """Prune the schedule's runs to its `keep_runs`, deleting first the jobs those
        runs made (so a prune cut short is finished by the next one). A job still
        running is left, and said so: it can be deleted once it has ended."""
        runs = await self._store.runs(schedule.schedule_id)
        for doc in runs[schedule.keep_runs :]:
            job_id = doc["job_id"]
            if job_id is None:
                continue
            try:
                await actions.delete_job(self._coordinator, job_id)
            except UnknownJob:
                pass
            except JobConflict as e:
                log.warning("schedule %s (%s): %s", schedule.schedule_id, schedule.name, e)
        await self._store.prune_runs(schedule.schedule_id, schedule.keep_runs)

    async def advance(self, schedule: Schedule, due: Due, run: ScheduleRun) -> Schedule:
        """Move the schedule, as it was while firing `due`, past its tick (step 4)."""
        moved = schedule.bumped(
            next_at=schedule.timing.next_after(due.tick),
            firing=None,
            last_job_id=run.job_id or schedule.last_job_id,
        )
        if not await self._store.replace_schedule(moved.to_doc()):
            raise self._conflict(schedule.schedule_id)
        return moved

    def _conflict(self, schedule_id: str) -> StateUnavailable:
        return StateUnavailable(
            f"schedule {schedule_id} changed under this Seeker; is another Seeker "
            "firing schedules from the same store?",
            url=self._store.url,
        )


def _look_again_at(schedule: Schedule, now: float, failed: set[str]) -> float:
    """When the loop next looks at a schedule it just fired, or failed to."""
    if schedule.schedule_id in failed:
        return now + RETRY_S
    return now if schedule.firing is not None else schedule.next_at


def utc_time(t: float) -> str:
    """An instant as runs and logs show it: UTC, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
