"""Placement rounds: which blocks go to which Givers, one round at a time.

Jobs share the Givers by priority: each free slot goes to the running job
with the fewest leases per unit of priority, so a job of priority 20 holds
about twice the slots of one of priority 10 while both have work. A block
goes to the best-scoring eligible Giver (`seeker.grid.placement`) that holds no
copy of it yet and belongs to no volunteer that does; a block that wants
several copies gets them one after another in the same round.

When a job has no block left to lease, its copies running longest on slow
Givers are doubled on idle ones (a *tail copy*): the first valid result
counts and the other copy is cancelled, so the last blocks of a job do not
wait on its slowest Givers.
"""

import functools
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable

from seeker.grid.placement import Candidate, JobNeeds, Placer, remaining_s, worth_a_tail_copy
from seeker.grid.registry import GiverEntry, GiverRegistry
from seeker.grid.trust import TrustBook
from seeker.work.blocks import Block
from seeker.work.jobs import Job, JobStatus
from seeker.work.manager import KeyManager, Offer

log = logging.getLogger(__name__)

# Leases the copies a round offers to Givers, then sends them.
Sender = Callable[[list[tuple[Offer, GiverEntry]]], Awaitable[None]]


def needs_of(job: Job) -> JobNeeds:
    spec = job.spec
    return JobNeeds(
        job.job_id, spec.image, spec.requirements, spec.limits, spec.images, spec.network
    )


class PlacementRounds:
    """Makes the placement rounds of the coordinator: which blocks go to which Givers
    now, and why a job waits when none can take it."""

    def __init__(
        self,
        keys: KeyManager,
        givers: GiverRegistry,
        trust: TrustBook,
        *,
        rng: random.Random,
        batch: int,
        tail_copies: bool = True,
    ) -> None:
        self._keys = keys
        self._givers = givers
        self._trust = trust
        self._rng = rng
        self._batch = batch
        self._tail_copies = tail_copies
        # Why a job's blocks wait, for the job view: no eligible Giver online.
        self.waiting: dict[str, str] = {}

    def placer(self, online: list[GiverEntry], *, free_only: bool = False) -> Placer:
        """A Placer over the Givers `online` and the leases they hold; with
        `free_only`, over those with a free slot, which is all a choice needs and
        far fewer when many Givers are busy (the typical speed stays that of all)."""
        load = Counter(ref.giver_id for ref in self._keys.leases.values())
        chosen = online
        if free_only:
            chosen = [g for g in online if g.info.capabilities.slots > load[g.info.giver_id]]
        candidates = [
            Candidate(
                g.info.giver_id, g.info.owner, g.info.capabilities, self._trust.get(g.info.giver_id)
            )
            for g in chosen
        ]
        records = [self._trust.get(g.info.giver_id) for g in online]
        return Placer(candidates, load, records=records)

    async def run(
        self, now: float, send: Sender, fail: Callable[[Job, Block, str], Awaitable[None]]
    ) -> bool:
        """Lease ready blocks to free slots, then tail copies to what is left, each
        lot leased together and then sent. Whether the round filled every slot it may
        and more are free (so go again at once)."""
        online = self._givers.online()
        placer = self.placer(online, free_only=True)
        # Every Giver online, full or not: why a block finds none is asked of them all.
        everyone = functools.cache(lambda: self.placer(online))
        capped, free = placer.free > self._batch, min(placer.free, self._batch)
        active = Counter(ref.job_id for ref in self._keys.leases.values())
        jobs = [j for j in self._keys.jobs.values() if j.status is JobStatus.RUNNING]
        queues: dict[str, list[Block]] = {}
        # Jobs with no block left to lease now: candidates for tail copies.
        drained = [j for j in jobs if not j.tally.pending and not j.tally.leased]
        for job in jobs:
            # A block whose round wants another copy counts as leased, not pending.
            if (job.tally.pending or job.tally.leased) and free > 0:
                queues[job.job_id] = await self._keys.ready(job, now, free)
                if len(queues[job.job_id]) < free:
                    drained.append(job)
        waiting: dict[str, str] = {}
        refusers = self._refusers(online)
        offers: list[tuple[Offer, GiverEntry]] = []
        while free > 0:
            open_jobs = [j for j in jobs if queues.get(j.job_id)]
            if not open_jobs:
                break
            job = min(open_jobs, key=lambda j: (active[j.job_id] + 1) / j.priority)
            block = queues[job.job_id].pop(0)
            needs = needs_of(job)
            refused = {**refusers.get(job.job_id, {}), **block.refused}
            chosen = placer.choose(
                needs,
                barred={*refused, *block.round_givers()},
                barred_owners=self._owners(block.round_givers()),
                shunned=block.shunned,
            )
            if chosen is None:
                failed = await self._unplaced(job, block, refused, everyone(), needs, waiting, fail)
                if not failed and not block.refused and not block.round_givers():
                    # No free Giver can run this job at all: its other blocks wait too.
                    queues[job.job_id] = []
                continue
            quorum, wanted = self._round_size(job, block, chosen)
            entry = self._givers.get(chosen.giver_id)
            assert entry is not None
            offer = self._offer(job, block, entry, now, quorum, wanted, tail=False)
            if offer is None:
                continue
            offers.append((offer, entry))
            placer.take(chosen.giver_id)
            active[job.job_id] += 1
            free -= 1
            if offer.leased.wants_copy:
                queues[job.job_id].insert(0, offer.leased)
        await send(offers)
        if not online:
            # Not one slot, so no block was tried: the reason is plain all the same.
            waiting = {j.job_id: "no Giver is online" for j in jobs if j.tally.pending}
        self.waiting = waiting
        if free > 0 and self._tail_copies:
            idle = [j for j in drained if not queues.get(j.job_id) and j.tally.leased]
            await send(await self._tail(idle, placer, free, now))
        return capped and free == 0

    def _offer(
        self,
        job: Job,
        block: Block,
        entry: GiverEntry,
        now: float,
        quorum: int,
        wanted: int,
        *,
        tail: bool,
    ) -> Offer | None:
        """A copy of `block` for the Giver of `entry`, if it is still connected and
        runs an image of the job."""
        image = job.spec.image_for(entry.info.capabilities.arch)
        if entry.session is None or image is None:
            # The round saw the Giver online with another architecture; since then
            # its session closed or a Report changed what it is.
            return None
        return self._keys.offer(
            job,
            block,
            entry.info.giver_id,
            now,
            image=image,
            quorum=quorum,
            wanted=wanted,
            tail=tail,
        )

    def _owners(self, giver_ids: set[str]) -> set[str]:
        owners = set()
        for giver_id in giver_ids:
            entry = self._givers.get(giver_id)
            owners.add(entry.info.owner if entry is not None else f"giver:{giver_id}")
        return owners

    def _round_size(self, job: Job, block: Block, chosen: Candidate) -> tuple[int, int]:
        """The quorum and copies of a round the block's first copy opens with `chosen`:
        one copy for a Giver trusted with the image it runs (but for a spot check), else
        the job's replicas."""
        redundancy = job.spec.redundancy
        image = job.spec.image_for(chosen.caps.arch)
        if block.round is None and redundancy.adaptive and image is not None:
            trusted = self._trust.get(chosen.giver_id).trusted(image, redundancy.trust_after)
            if trusted and self._rng.random() >= redundancy.spot_check:
                return 1, 1
        return redundancy.quorum, redundancy.replicas

    def _refusers(self, online: list[GiverEntry]) -> dict[str, dict[str, str]]:
        """For each job, the Givers `online` that refused it by their policy, and why."""
        refusers: dict[str, dict[str, str]] = {}
        for entry in online:
            for job_id, reason in entry.refused_jobs.items():
                refusers.setdefault(job_id, {})[entry.info.giver_id] = reason
        return refusers

    async def _unplaced(
        self,
        job: Job,
        block: Block,
        refused: dict[str, str],
        placer: Placer,
        needs: JobNeeds,
        waiting: dict[str, str],
        fail: Callable[[Job, Block, str], Awaitable[None]],
    ) -> bool:
        """No Giver took `block` this round: fail it if every Giver that could run it
        refused it (or its job, by policy), else note why it waits. Whether it failed."""
        unfit = placer.unfit_reasons(needs)
        eligible = placer.eligible(needs)
        if eligible and block.round is None and all(g in refused for g in eligible):
            reasons = "; ".join(f"{g}: {r}" for g, r in sorted(refused.items()))
            await fail(job, block, f"refused by every Giver ({reasons})")
            return True
        if not eligible:
            detail = "; ".join(f"{g} {r}" for g, r in sorted(unfit.items())[:5])
            waiting[job.job_id] = "no online Giver can run this job" + (
                f" ({detail})" if detail else ""
            )
        return False

    async def _tail(
        self, jobs: list[Job], placer: Placer, free: int, now: float
    ) -> list[tuple[Offer, GiverEntry]]:
        """Copies that double the slowest copies of jobs with nothing left to lease."""
        offers: list[tuple[Offer, GiverEntry]] = []
        refs = sorted(
            (r for r in self._keys.leases.values() if r.job_id in {j.job_id for j in jobs}),
            key=lambda r: r.leased_at,
        )
        for ref in refs:
            if len(offers) >= free or placer.free == 0:
                break
            job = self._keys.jobs[ref.job_id]
            needs = needs_of(job)
            chosen = placer.choose(needs, barred={ref.giver_id})
            if chosen is None:
                continue
            candidate_s = placer.expected_s(chosen.giver_id, ref.keys)
            if candidate_s is None:
                continue
            elapsed = now - ref.leased_at
            holder = self._trust.peek(ref.giver_id)
            left = remaining_s(
                elapsed, ref.keys, ref.progress, holder.seconds_per_key if holder else None
            )
            if not worth_a_tail_copy(left, elapsed, candidate_s):
                continue
            block = await self._keys.block_of(ref.task_id)
            if (
                block is None
                or block.round is None
                or block.round.tailed
                or chosen.giver_id in block.round_givers()
                or chosen.giver_id in block.refused
                or chosen.owner in self._owners(block.round_givers())
            ):
                continue
            entry = self._givers.get(chosen.giver_id)
            assert entry is not None
            offer = self._offer(job, block, entry, now, 0, 0, tail=True)
            if offer is None:
                continue
            offers.append((offer, entry))
            placer.take(chosen.giver_id)
            log.info(
                "task %s on giver %s is slow (%.0f s so far); copying it to giver %s",
                ref.task_id,
                ref.giver_id,
                elapsed,
                chosen.giver_id,
            )
        return offers
