"""Which Giver runs a block: eligibility first, then a score. Pure logic.

A Giver is *eligible* for a job when it takes tasks now (it is not paused, out
of its active hours, stopping or out of disk space) and can run the job's
containers: enough CPUs and memory for the job's limits and stated minimums,
a listed architecture, an image for that architecture (a job may offer one
image per architecture), every required label and no excluded one, no flag,
and for a job that needs the network, no traffic cap reached. Among eligible
Givers with a free slot the scheduler takes the highest score:

    2 x reliability + 1 x image cached + 1 x speed + 0.5 x free share of slots

Reliability (0..1) weighs most: a fast Giver whose tasks fail costs more
than a slow one whose tasks count. A cached image (the one for the Giver's
architecture) saves a download; speed
is how the Giver's seconds per key compare with the typical Giver's (0..1,
0.5 when unknown); the free share spreads work over machines.

`Placer` makes many choices per scheduling round without scanning every
Giver for each: it keeps, per job, a heap of eligible Givers by score. A
Giver's score only falls during a round (its free slots fill), so an entry
whose stored score is stale is pushed back with its current score when it
surfaces.
"""

import heapq
import math
import statistics
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from channel.wire.givers import Capabilities
from channel.wire.models import Limits
from seeker.grid.trust import GiverRecord
from seeker.work.needs import Requirements, has_label, image_for

WEIGHT_RELIABILITY = 2.0
WEIGHT_CACHED = 1.0
WEIGHT_SPEED = 1.0
WEIGHT_FREE = 0.5
UNKNOWN_SPEED = 0.5
# A copy near the end of a job is doubled on an idle Giver only if it would
# otherwise finish this many times later than that Giver could do the block.
TAIL_MARGIN = 2.0


def unfit(caps: Capabilities, needs: Requirements, limits: Limits) -> str | None:
    """Why a Giver offering `caps` cannot run a job's containers, or None if it can."""
    if caps.paused:
        return caps.paused
    cpus = max(needs.min_cpus, math.ceil(limits.cpus))
    if caps.cpus < cpus:
        return f"has {caps.cpus} CPU(s), the job needs {cpus}"
    memory = max(needs.min_memory_bytes, limits.memory_bytes)
    if caps.memory_bytes < memory:
        return f"has {caps.memory_bytes // 2**20} MiB, the job needs {memory // 2**20} MiB"
    if needs.arch and caps.arch not in needs.arch:
        return f"is {caps.arch}, the job runs on {', '.join(needs.arch)}"
    missing = [label for label in needs.labels if not has_label(caps.labels, label)]
    if missing:
        return f"lacks label(s) {', '.join(missing)}"
    excluded = [label for label in needs.exclude_labels if has_label(caps.labels, label)]
    if excluded:
        return f"has excluded label(s) {', '.join(excluded)}"
    return None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A Giver as one scheduling round sees it."""

    giver_id: str
    owner: str
    caps: Capabilities
    record: GiverRecord


@dataclass(frozen=True, slots=True)
class JobNeeds:
    """What placement needs to know of a job: its image, or `images` by architecture."""

    job_id: str
    image: str
    requirements: Requirements
    limits: Limits
    images: Mapping[str, str] = field(default_factory=dict)
    network: str = "none"

    def image_for(self, arch: str) -> str | None:
        return image_for(self.image, self.images, arch)

    def unfit(self, caps: Capabilities) -> str | None:
        """Why a Giver offering `caps` cannot run this job, or None if it can."""
        reason = unfit(caps, self.requirements, self.limits)
        if reason is None and self.network != "none" and caps.network_paused:
            reason = caps.network_paused
        if reason is None and self.image_for(caps.arch) is None:
            reason = f"is {caps.arch}, the job has images for {', '.join(sorted(self.images))}"
        return reason


def typical_speed(records: Iterable[GiverRecord]) -> float | None:
    """The median seconds per key among Givers that have any, or None."""
    rates = [r.seconds_per_key for r in records if r.seconds_per_key]
    return statistics.median(rates) if rates else None


def cached(image: str | None, references: Collection[str]) -> bool:
    """Whether a Giver reporting image `references` (tags, repository digests, ids)
    has `image`; an image pinned to an id (`repo@sha256:…`, as catalog scrapers
    are) by that id, whatever it is tagged there."""
    if image is None:
        return False
    return image in references or image.partition("@")[2] in references


def score(
    candidate: Candidate, free_slots: int, image: str | None, typical_s_per_key: float | None
) -> float:
    record = candidate.record
    speed = UNKNOWN_SPEED
    if record.seconds_per_key and typical_s_per_key:
        speed = min(typical_s_per_key / record.seconds_per_key, 2.0) / 2.0
    return (
        WEIGHT_RELIABILITY * record.reliability
        + WEIGHT_CACHED * cached(image, candidate.caps.images)
        + WEIGHT_SPEED * speed
        + WEIGHT_FREE * free_slots / candidate.caps.slots
    )


class Placer:
    """Chooses Givers for blocks during one scheduling round.

    `load` is each Giver's leases at the start of the round; `take` records each
    lease made during it. The typical speed is taken over `records` when the
    candidates are not all the Givers of the round (default: theirs).
    """

    def __init__(
        self,
        candidates: Iterable[Candidate],
        load: Mapping[str, int],
        *,
        records: Iterable[GiverRecord] | None = None,
    ) -> None:
        self._candidates = {c.giver_id: c for c in candidates if not c.record.flagged}
        self._free = {
            giver_id: c.caps.slots - load.get(giver_id, 0)
            for giver_id, c in self._candidates.items()
        }
        self._free_total = sum(max(0, free) for free in self._free.values())
        if records is None:
            records = (c.record for c in self._candidates.values())
        self._typical = typical_speed(r for r in records if not r.flagged)
        self._heaps: dict[str, list[tuple[float, str]]] = {}
        self._unfit: dict[str, dict[str, str]] = {}

    @property
    def free(self) -> int:
        """Free slots left among all Givers of the round."""
        return self._free_total

    def free_slots(self, giver_id: str) -> int:
        return max(0, self._free.get(giver_id, 0))

    def unfit_reasons(self, job: JobNeeds) -> dict[str, str]:
        """Why each online Giver that cannot run the job cannot."""
        self._heap(job)
        return self._unfit[job.job_id]

    def eligible(self, job: JobNeeds) -> list[str]:
        """The unflagged Givers of the round that can run the job, full or not."""
        unfit_now = self.unfit_reasons(job)
        return [g for g in self._candidates if g not in unfit_now]

    def _score(self, c: Candidate, job: JobNeeds) -> float:
        return score(c, self._free[c.giver_id], job.image_for(c.caps.arch), self._typical)

    def _heap(self, job: JobNeeds) -> list[tuple[float, str]]:
        heap = self._heaps.get(job.job_id)
        if heap is None:
            heap, unfit_now = [], {}
            for c in self._candidates.values():
                reason = job.unfit(c.caps)
                if reason is not None:
                    unfit_now[c.giver_id] = reason
                elif self._free[c.giver_id] > 0:
                    heap.append((-self._score(c, job), c.giver_id))
            heapq.heapify(heap)
            self._heaps[job.job_id], self._unfit[job.job_id] = heap, unfit_now
        return heap

    def choose(
        self,
        job: JobNeeds,
        *,
        barred: Iterable[str] = (),
        barred_owners: Iterable[str] = (),
        shunned: Iterable[str] = (),
    ) -> Candidate | None:
        """The best eligible Giver with a free slot, other than `barred` ones or those
        of `barred_owners` (volunteers already holding a copy), preferring any not
        `shunned`. Does not take its slot: call `take`."""
        heap = self._heap(job)
        barred, barred_owners, shunned = set(barred), set(barred_owners), set(shunned)
        popped: list[tuple[float, str]] = []
        fallback: Candidate | None = None
        chosen: Candidate | None = None
        while heap:
            stored, giver_id = heapq.heappop(heap)
            if self._free[giver_id] <= 0:
                continue  # full: it cannot come back this round
            c = self._candidates[giver_id]
            current = -self._score(c, job)
            if current != stored:
                heapq.heappush(heap, (current, giver_id))
                continue
            popped.append((stored, giver_id))
            if giver_id in barred or c.owner in barred_owners:
                continue
            if giver_id in shunned:
                fallback = fallback or c
                continue
            chosen = c
            break
        for entry in popped:
            heapq.heappush(heap, entry)
        return chosen or fallback

    def take(self, giver_id: str) -> None:
        """A lease went to `giver_id`: one slot fewer."""
        if self._free[giver_id] > 0:
            self._free_total -= 1
        self._free[giver_id] -= 1

    def expected_s(self, giver_id: str, keys: int) -> float | None:
        """How long `giver_id` would take for `keys` keys, from its record."""
        c = self._candidates.get(giver_id)
        rate = c.record.seconds_per_key if c is not None else None
        rate = rate or self._typical
        return rate * keys if rate is not None else None


def remaining_s(
    elapsed_s: float, keys: int, progress: int, holder_s_per_key: float | None
) -> float | None:
    """How much longer a copy out for `elapsed_s` should take: from its progress
    if it reported any, else from its Giver's record; None if nothing tells. A
    copy already past what its record expects is taken to need as long again as
    it has run: its Giver has slowed down, and nothing tells by how much."""
    if progress > 0:
        return elapsed_s / progress * (keys - progress)
    if holder_s_per_key:
        expected = holder_s_per_key * keys
        return expected - elapsed_s if elapsed_s < expected else elapsed_s
    return None


def worth_a_tail_copy(remaining: float | None, elapsed_s: float, candidate_s: float) -> bool:
    """Whether doubling a copy on an idle Giver that would take `candidate_s`
    likely finishes sooner: the copy has been out longer than that, and it is
    expected to need TAIL_MARGIN times longer still (or nothing tells)."""
    if elapsed_s < candidate_s:
        return False
    return remaining is None or remaining > TAIL_MARGIN * candidate_s
