"""The Seeker's main loop: lease blocks to Givers, collect results, watch Givers.

One loop does it all, woken by anything that may change what to do (a job
submitted, a Giver connected, a result announced) and at least every
`poll_interval_s`: expire lapsed leases, count the results Givers posted since
the last round (`seeker.grid.collect`; choosing among copies where a job runs
several), lease ready blocks to Givers with free slots (`seeker.grid.rounds`),
and every `contact_interval_s` check each registered Giver: one that cannot be reached
`purge_after` checks in a row is purged, and its leases return to the pool.
Every task goes out signed with the deployment's Seeker key for the one Giver
it is assigned to; a Giver that refuses one is kept off that block (off the
whole job, if its policy refused it), and the refusal is noted with its job.
"""

import asyncio
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from channel.errors import StoreUnavailable
from channel.wire import messages
from channel.wire.identity import Identity
from channel.wire.models import Task
from channel.wire.results import Result
from seeker.errors import SeekerError, StateUnavailable
from seeker.grid.collect import Collector
from seeker.grid.registry import SEND_TIMEOUT_S, GiverEntry, GiverRegistry, GiverSession, deliver
from seeker.grid.rounds import PlacementRounds
from seeker.grid.trust import TrustBook
from seeker.work.blocks import Block
from seeker.work.history import Role
from seeker.work.jobs import Job
from seeker.work.ledger import LeaseRef
from seeker.work.manager import KeyManager, Offer

log = logging.getLogger(__name__)
# Results counted and blocks leased per round at most, so that on a slow store
# neither waits long behind the other; a capped round wakes the loop at once.
STEP_BATCH = 100
# A round starts at least this long after the one before, however often the loop
# is woken: a round walks every Giver online, so with many Givers one round for a
# few results costs less than a round for each. With 1,000 Givers, 0.25 s against
# 0.1 s took a fifth off the Seeker's CPU while tasks of 30-60 s ran, and left
# the time from a free slot to its Assign under 0.6 s at p99 (`bench/load.py`).
ROUND_GAP_S = 0.25
PURGED_SHOWN = 100
# Givers whose contact is checked before the loop lets others run.
CHECKS_A_TURN = 200
# Givers purged in one round named in its line at most.
PURGED_NAMED = 5


@dataclass(frozen=True, slots=True)
class Watch:
    """How the coordinator watches Givers and the ends of jobs."""

    purge_after: int = 3
    contact_interval_s: float = 10.0
    tail_copies: bool = True


@dataclass(slots=True)
class Counters:
    """Totals since this process started, for rates: tasks sent to Givers; results
    accepted (counted toward their block) or rejected (discarded: keys outside their
    task, or not sealed as their job requires); copies whose records lost the
    comparison with the chosen copy's."""

    tasks_sent: int = 0
    results_accepted: int = 0
    results_rejected: int = 0
    copies_disagreed: int = 0


@dataclass(frozen=True, slots=True)
class Purged:
    giver_id: str
    name: str
    at: float
    reason: str


class Coordinator:
    """Decides which Giver runs which block; the key manager records it."""

    def __init__(
        self,
        keys: KeyManager,
        givers: GiverRegistry,
        trust: TrustBook,
        *,
        identity: Identity,
        poll_interval_s: float,
        watch: Watch = Watch(),
        rng: random.Random | None = None,
    ) -> None:
        self.keys = keys
        self.trust = trust
        self.identity = identity
        self._givers = givers
        self._poll_interval_s = poll_interval_s
        self._watch = watch
        self._rounds = PlacementRounds(
            keys,
            givers,
            trust,
            rng=rng or random.Random(),
            batch=STEP_BATCH,
            tail_copies=watch.tail_copies,
        )
        self._collector = Collector(keys, batch=STEP_BATCH, sweep_s=poll_interval_s)
        self._wake = asyncio.Event()
        self._store_warned = False
        self._next_contact_check = 0.0
        self._next_round = 0.0
        self.counters = Counters()
        self.purged: deque[Purged] = deque(maxlen=PURGED_SHOWN)

    @property
    def registry(self) -> GiverRegistry:
        """The registered Givers, to read (the coordinator alone changes them)."""
        return self._givers

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
            case messages.Refuse(task_id=task_id, reason=reason, policy=policy):
                log.warning("giver %s refused task %s: %s", giver_id, task_id, reason)
                ref = keys.leases.get(task_id)
                if await keys.refused(task_id, giver_id, reason, now) and policy:
                    assert ref is not None
                    self._givers.refused_job(giver_id, ref.job_id, reason)
            case messages.Release(task_id=task_id, reason=reason):
                if await keys.release(task_id, giver_id, released=True):
                    log.info("giver %s released task %s: %s", giver_id, task_id, reason)
            case messages.Invalidate(task_id=task_id, reason=reason):
                if await keys.invalidate_task(task_id, giver_id, reason, now):
                    log.warning("giver %s invalidated task %s: %s", giver_id, task_id, reason)
                    self.trust.failed(giver_id)
            case messages.Report(capabilities=capabilities):
                self._givers.report(giver_id, capabilities)
            case messages.Done(task_id=task_id):
                self._collector.announce(task_id)
            case messages.Accept():
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
                error = await deliver(entry.session, messages.Cancel(ref.task_id))
                if error is not None:
                    log.debug(
                        "cannot cancel task %s on giver %s: %s", ref.task_id, ref.giver_id, error
                    )

    async def run(self) -> None:
        """Coordinate until cancelled."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)
            except TimeoutError:
                pass
            # A set event is waited for without suspending: this lets others run
            # every round, and what wakes the loop meanwhile joins the round.
            await asyncio.sleep(max(0.0, self._next_round - time.monotonic()))
            self._next_round = time.monotonic() + ROUND_GAP_S
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
        """One round: leave long-finished jobs to the store, expire leases, collect
        results, assign blocks, watch Givers."""
        now = time.time()
        self.keys.unload_finished(now)
        for ref in await self.keys.expire(now):
            log.warning("lease on task %s lapsed; its keys are back in the pool", ref.task_id)
            self.trust.failed(ref.giver_id)
        if await self._collector.collect(lambda results: self._count(results, now), now):
            self._wake.set()
        if await self._rounds.run(now, self._send, self._fail):
            self._wake.set()
        if now >= self._next_contact_check:
            self._next_contact_check = now + self._watch.contact_interval_s
            await self._check_contacts(now)
        await self.flush_trust()

    async def flush_trust(self) -> None:
        """Write the Giver records that changed."""
        dirty = set(self.trust.dirty)
        docs = self.trust.take_dirty()
        if not docs:
            return
        try:
            await self.keys.store.put_givers(docs)
        except BaseException:
            self.trust.dirty |= dirty
            raise

    async def _count(self, results: list[Result], now: float) -> list[bool]:
        """Count results that answered live leases, in order, as many as can be in one
        write of their blocks; for each, whether it was handled (False: the state
        store failed, so it is read again next round)."""
        refs = [self.keys.leases.get(result.task_id) for result in results]
        try:
            together = await self.keys.count_together(results, now)
        except StateUnavailable as e:
            log.warning("results not counted: %s", e)
            return [False] * len(results)
        handled = []
        for place, (result, ref) in enumerate(zip(results, refs, strict=True)):
            counted = together.get(place)
            if counted is None:
                try:
                    counted = await self.keys.apply(result, now)
                except SeekerError as e:
                    log.warning("result %s of task %s: %s", result.result_id, result.task_id, e)
                    handled.append(not isinstance(e, StateUnavailable))
                    continue
            handled.append(True)
            if counted is None or ref is None:
                continue
            if counted.discarded:
                self.counters.results_rejected += 1
            else:
                self.counters.results_accepted += 1
            log.debug("task %s: result %s counted", result.task_id, result.result_id)
            if result.error is None and any(o.ok for o in result.outcomes):
                elapsed_s = result.finished_at - result.started_at
                self.trust.succeeded(result.giver_id, elapsed_s, ref.keys)
            else:
                self.trust.failed(result.giver_id)
            await self.cancel(counted.cancelled)
            for run in counted.judged:
                await self._judge(run.giver_id, run.role, self.keys.jobs[ref.job_id], now)
        return handled

    def images_run_by(self, giver_id: str, job: Job) -> list[str]:
        """The image `giver_id` runs for `job`: the one for its architecture; if the
        Giver is gone (purged), every image the job has, since any may be it."""
        entry = self._givers.get(giver_id)
        image = job.spec.image_for(entry.info.capabilities.arch if entry is not None else "")
        return [image] if image is not None else sorted(set(job.spec.images.values()))

    async def _judge(self, giver_id: str, role: Role, job: Job, now: float) -> None:
        """Trust earned or lost, for the image it ran, by a result compared with its
        copies'."""
        images = self.images_run_by(giver_id, job)
        if role is not Role.REJECTED:
            if len(images) == 1:
                self.trust.validated(giver_id, images[0])
            return
        self.counters.copies_disagreed += 1
        log.warning(
            "giver %s: its result for image %s disagreed with the chosen one",
            giver_id,
            ", ".join(images),
        )
        if self.trust.rejected(giver_id, images, now):
            log.warning(
                "giver %s flagged: %s; it gets no more work until an operator clears the flag",
                giver_id,
                self.trust.get(giver_id).flagged,
            )
            taken = [r for r in self.keys.leases.values() if r.giver_id == giver_id]
            for task_id in await self.keys.release_giver(giver_id):
                log.info("task %s taken back from flagged giver %s", task_id, giver_id)
            await self.cancel(taken)

    async def _fail(self, job: Job, block: Block, reason: str) -> None:
        await self.keys.fail_block(job, block, reason, time.time())

    async def _send(self, offers: list[tuple[Offer, GiverEntry]]) -> None:
        """Lease the offered copies (all stored first, together), then send each Giver
        its Assigns: Givers all at once, so a slow connection holds up no other
        Giver's, and each Giver's in order."""
        if not offers:
            return
        leased = await self.keys.lease_all([offer for offer, _ in offers])
        assigns: dict[str, tuple[GiverSession | None, list[Task]]] = {}
        for (_, entry), task in zip(offers, leased, strict=True):
            if task is not None:
                assigns.setdefault(entry.info.giver_id, (entry.session, []))[1].append(task)
        sent = await asyncio.gather(
            *(self._assign(giver_id, *assigned) for giver_id, assigned in assigns.items())
        )
        for (giver_id, (session, tasks)), (count, error) in zip(assigns.items(), sent, strict=True):
            self.counters.tasks_sent += count
            if error is None:
                self._givers.contacted(giver_id)
                continue
            log.warning(
                "cannot send task %s to giver %s: %s",
                tasks[count].task_id,
                giver_id,
                str(error) or f"no progress in {SEND_TIMEOUT_S:g} s; closing its session",
            )
            for task in tasks[count:]:
                await self.keys.release(task.task_id, giver_id)
            if isinstance(error, TimeoutError) and session is not None:
                await session.close()
            if (taken := await self._contact_failed(giver_id, time.time())) is not None:
                log.warning("giver %s purged; %d task(s) back in the pool", giver_id, taken)

    async def _assign(
        self, giver_id: str, session: GiverSession | None, tasks: list[Task]
    ) -> tuple[int, Exception | None]:
        """Send a Giver its tasks in order, each signed for it: how many went, and why
        the rest did not."""
        if session is None:
            return 0, ConnectionError(f"session with giver {giver_id} is closed")
        for count, task in enumerate(tasks):
            signature = self.identity.sign_value(messages.Assign.signed_value(giver_id, task))
            if (error := await deliver(session, messages.Assign(task, signature))) is not None:
                return count, error
        return len(tasks), None

    async def _check_contacts(self, now: float) -> None:
        """Count a failed contact for each registered Giver without a live session;
        those it purges are told in one line, not one each."""
        purged, taken = [], 0
        for n, entry in enumerate(self._givers.entries(), 1):
            if n % CHECKS_A_TURN == 0:
                await asyncio.sleep(0)  # many Givers: let others run between turns
            if entry.online:
                self._givers.contacted(entry.info.giver_id)
            elif (back := await self._contact_failed(entry.info.giver_id, now)) is not None:
                purged.append(entry.info.giver_id)
                taken += back
        if purged:
            named = f" ({', '.join(purged)})" if len(purged) <= PURGED_NAMED else ""
            log.warning(
                "%d giver(s) purged%s: unreachable at %d contacts in a row; "
                "%d task(s) back in the pool",
                *(len(purged), named, self._watch.purge_after, taken),
            )

    async def revoke(self, giver_id: str) -> list[str]:
        """An operator revoked the Giver's admission: cancel and take back its tasks,
        forget it and close its session; the ids of the tasks taken back."""
        held = [ref for ref in self.keys.leases.values() if ref.giver_id == giver_id]
        await self.cancel(held)
        taken = await self.keys.release_giver(giver_id)
        entry = self._givers.purge(giver_id)
        if entry is not None and entry.session is not None:
            await entry.session.close("admission revoked")
        log.warning(
            "giver %s revoked by an operator; %d task(s) back in the pool", giver_id, len(taken)
        )
        self._wake.set()
        return taken

    async def _contact_failed(self, giver_id: str, now: float) -> int | None:
        """Count a failed contact; if it purges the Giver, how many tasks it held."""
        failures = self._givers.contact_failed(giver_id)
        if failures < self._watch.purge_after:
            return None
        entry = self._givers.purge(giver_id)
        if entry is not None and entry.session is not None:
            await entry.session.close()
        taken = await self.keys.release_giver(giver_id)
        reason = f"unreachable at {failures} contacts in a row"
        self.purged.append(Purged(giver_id, entry.info.name if entry else "", now, reason))
        self._wake.set()
        return len(taken)

    def job_view(self, job: Job) -> dict[str, Any]:
        progress = sum(r.progress for r in self.keys.leases.values() if r.job_id == job.job_id)
        view = {**job.view(), "leased_progress": progress}
        waiting = self._rounds.waiting.get(job.job_id)
        if waiting:
            view["waiting"] = waiting
        return view
