"""Where blocks go: the cost of a placement decision, and what tail copies save.

Placement decisions: 1,000 simulated Givers of mixed capabilities (1-16 CPUs,
1-64 GiB, a fifth arm64, region and residential labels, 1-8 slots, some with a
job's image cached, some sharing a volunteer, a few flagged, records of varied
reliability and speed) and 100,000 blocks over four jobs with different
requirements (arm64; region=eu without residential=true; 4 CPUs and 8 GiB;
nothing, in two copies on different volunteers). Rounds run as PlacementRounds
runs them: a fresh `Placer` over the current loads, then blocks by fair share
of priority until no slot is free or no job can place a block (a job is left
for the round at its first block no Giver takes), some blocks carrying refused
and shunned Givers; then a random share of the leases ends before the next
round. Each `choose` + `take` is timed; the Placer's build per round (its heaps
included) is reported apart. Every decision is checked to pick an eligible
Giver with a free slot that the block does not bar. Baseline: on a sample of
the same decisions, in the same state, a scan of every Giver with `unfit()`
and `score()` taking the best; it must pick the same Giver.

Through PlacementRounds on SQLite: the real coordinator's rounds (at most
STEP_BATCH leases each) on SQLite files, with the same 1,000 Givers, whose
sessions only count what they are sent. Over a range job of 100,000 one-key
blocks cut as they are leased: leases per second over a few rounds, and the
real `PlacementRounds.placer()` build time. Beside it an arm64-only job first in
line: the rounds once its Givers are full, against the plain job's alone. And
a job of 4,000 blocks once all are leased with slots still free: its rounds
with tail copies, against its rounds without.

Tail copies: the real coordinator and key manager on SQLite files, with
in-process Givers that sleep a block's duration and post a signed result for
each key, until the job is done. A fifth of the Givers are 20x slower: from
the start (`slow`; the Seeker learns their speed from their results), or only
once 80% of the blocks are out (`stragglers`; their records say fast). Wall
time without tail copies and with them, alternating, medians of the
repetitions, and the time from the last block's first copy to the job's end.

`--json` and `--smoke` are bench/_cli.py's.
"""

import argparse
import asyncio
import contextlib
import math
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _cli

from channel.store.base import Channel
from channel.store.factory import open_channel
from channel.wire import messages
from channel.wire.givers import Capabilities, GiverInfo
from channel.wire.identity import Identity
from channel.wire.models import Limits, Task
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result
from seeker.grid.coordinator import STEP_BATCH, Coordinator, Watch
from seeker.grid.placement import Candidate, JobNeeds, Placer, score, typical_speed, unfit
from seeker.grid.registry import GiverRegistry
from seeker.grid.rounds import PlacementRounds, needs_of
from seeker.grid.trust import GiverRecord, TrustBook
from seeker.state.factory import open_state
from seeker.work.intake import create_job
from seeker.work.jobs import JobStatus
from seeker.work.manager import KeyManager
from seeker.work.needs import Requirements
from seeker.work.spec import parse_job

GIB = 2**30
MIB = 2**20
REGIONS = ("eu", "us", "asia")
CPUS = (1, 2, 4, 8, 12, 16)
MEMORY_GIB = (1, 2, 4, 8, 16, 32, 64)
ARM_SHARE = 0.2
CACHED_SHARE = 0.3  # of Givers holding a given job's image
VOLUNTEER_SHARE = 0.3  # of Givers lent by a volunteer with several machines
FLAGGED_SHARE = 0.01
UNKNOWN_SPEED_SHARE = 0.1
REFUSED_SHARE = 0.05  # of blocks refused by 1-3 Givers
SHUNNED_SHARE = 0.05  # of blocks that shun 1-2 Givers
# Refusing and shunned Givers are drawn from a job's best Givers, so that the
# Placer meets them.
BEST_DRAWN_FROM = 30
LEASE_GRACE_S = 60.0
POLL_INTERVAL_S = 0.02
TAIL_WATCH_S = 0.01
TAIL_BUDGET_S = 120.0
RANGE_IMAGE = "bench/range:1"
DRAINED_ROUNDS = 5
# No contact checks during a run: every session stays attached.
QUIET = Watch(contact_interval_s=3600.0)
# Sizes of a --smoke run: a few seconds, most of them the tail runs' slow blocks.
SMOKE = {
    "givers": 50,
    "blocks": 500,
    "baseline_decisions": 50,
    "sqlite_rounds": 4,
    "drained_blocks": 100,
    "sqlite_builds": 2,
    "tail_givers": 5,
    "tail_blocks": 30,
    "repeat": 1,
}


# Placement decisions ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimJob:
    needs: JobNeeds
    share: float  # of the blocks
    priority: int
    copies: int  # of each block, on Givers of different volunteers


@dataclass(slots=True)
class SimBlock:
    refused: frozenset[str]
    shunned: frozenset[str]
    leased: list[Candidate] = field(default_factory=list)


def sim_jobs() -> list[SimJob]:
    return [
        SimJob(
            JobNeeds("arm", "bench/arm:1", Requirements(arch=("arm64",)), Limits()), 0.15, 10, 1
        ),
        SimJob(
            JobNeeds(
                "eu",
                "bench/eu:1",
                Requirements(labels=("region=eu",), exclude_labels=("residential=true",)),
                Limits(),
            ),
            0.20,
            10,
            1,
        ),
        SimJob(
            JobNeeds(
                "big",
                "bench/big:1",
                Requirements(min_cpus=4, min_memory_bytes=8 * GIB),
                Limits(memory_bytes=4 * GIB, cpus=2.0),
            ),
            0.25,
            20,
            1,
        ),
        SimJob(
            JobNeeds("any", "bench/any:1", Requirements(), Limits(memory_bytes=256 * MIB)),
            0.40,
            10,
            2,
        ),
    ]


def sim_givers(rng: random.Random, count: int, images: list[str]) -> list[Candidate]:
    """`count` Givers of mixed capabilities and records, in giver_id order."""
    givers = []
    for n in range(count):
        giver_id = f"giver-{n:05d}"
        caps = Capabilities(
            cpus=rng.choice(CPUS),
            memory_bytes=rng.choice(MEMORY_GIB) * GIB,
            arch="arm64" if rng.random() < ARM_SHARE else "amd64",
            os="linux",
            docker_version="bench",
            slots=rng.randint(1, 8),
            images=tuple(image for image in images if rng.random() < CACHED_SHARE),
            labels={
                "region": rng.choice(REGIONS),
                "residential": rng.choice(("true", "false")),
            },
        )
        volunteer = f"bench-{rng.randrange(count // 10)}" if rng.random() < VOLUNTEER_SHARE else ""
        owner = f"volunteer:{volunteer}" if volunteer else f"giver:{giver_id}"
        record = GiverRecord(
            giver_id,
            reliability=rng.betavariate(8, 2),
            seconds_per_key=None
            if rng.random() < UNKNOWN_SPEED_SHARE
            else rng.lognormvariate(math.log(0.5), 0.6),
            tasks=rng.randrange(500),
            flagged="bench: flagged" if rng.random() < FLAGGED_SHARE else "",
        )
        givers.append(Candidate(giver_id, owner, caps, record))
    return givers


def sim_blocks(
    rng: random.Random, jobs: list[SimJob], givers: list[Candidate], total: int
) -> tuple[list[deque[SimBlock]], list[set[str]]]:
    """Each job's blocks, and each job's eligible Givers (fit and not flagged)."""
    typical = typical_speed(g.record for g in givers if not g.record.flagged)
    queues, eligible = [], []
    for job in jobs:
        fit = [
            g
            for g in givers
            if not g.record.flagged
            and unfit(g.caps, job.needs.requirements, job.needs.limits) is None
        ]
        if not fit:
            raise SystemExit(f"no simulated Giver can run job {job.needs.job_id}")
        best = sorted(fit, key=lambda g: -score(g, g.caps.slots, job.needs.image, typical))
        best_ids = [g.giver_id for g in best[:BEST_DRAWN_FROM]]
        blocks: deque[SimBlock] = deque()
        for _ in range(round(total * job.share)):
            refused = shunned = frozenset[str]()
            if rng.random() < REFUSED_SHARE:
                refused = frozenset(rng.sample(best_ids, rng.randint(1, 3)))
            if rng.random() < SHUNNED_SHARE:
                shunned = frozenset(rng.sample(best_ids, rng.randint(1, 2)))
            blocks.append(SimBlock(refused, shunned))
        queues.append(blocks)
        eligible.append({g.giver_id for g in fit})
    return queues, eligible


def scan_choice(
    givers: list[Candidate],
    free: dict[str, int],
    needs: JobNeeds,
    typical: float | None,
    barred: set[str],
    barred_owners: set[str],
    shunned: frozenset[str],
) -> Candidate | None:
    """The baseline: every Giver checked with unfit() and scored, the best taken
    (the first of equals, as the Placer's heap takes the lowest giver_id)."""
    best = fallback = None
    best_score = fallback_score = -math.inf
    for c in givers:
        slots = free[c.giver_id]
        if c.record.flagged or slots <= 0 or c.giver_id in barred or c.owner in barred_owners:
            continue
        if unfit(c.caps, needs.requirements, needs.limits) is not None:
            continue
        s = score(c, slots, needs.image, typical)
        if c.giver_id in shunned:
            if s > fallback_score:
                fallback, fallback_score = c, s
        elif s > best_score:
            best, best_score = c, s
    return best or fallback


def placement_run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    jobs = sim_jobs()
    givers = sim_givers(rng, args.givers, [job.needs.image for job in jobs])
    queues, eligible = sim_blocks(rng, jobs, givers, args.blocks)
    typical = typical_speed(g.record for g in givers if not g.record.flagged)
    planned = sum(len(q) * job.copies for q, job in zip(queues, jobs, strict=True))
    stride = max(1, planned // args.baseline_decisions)

    load: Counter[str] = Counter()
    leases: list[tuple[str, int]] = []  # (giver_id, job index)
    decision_ns: list[int] = []
    baseline_ns: list[int] = []
    build_ns: list[int] = []
    leased_per_round: list[int] = []
    unplaced = disagreements = refused = shunning = second_copies = 0
    while any(queues) and len(decision_ns) < args.max_decisions:
        started = time.perf_counter_ns()
        placer = Placer(givers, load)
        for job, queue in zip(jobs, queues, strict=True):
            if queue:
                placer.unfit_reasons(job.needs)  # builds the job's heap now, not in a decision
        build_ns.append(time.perf_counter_ns() - started)

        free = {g.giver_id: g.caps.slots - load[g.giver_id] for g in givers}
        free_total = placer.free
        active = Counter(j for _, j in leases)
        blocked: set[int] = set()
        leased = 0
        while free_total > 0 and len(decision_ns) < args.max_decisions:
            open_jobs = [j for j, q in enumerate(queues) if q and j not in blocked]
            if not open_jobs:
                break
            j = min(open_jobs, key=lambda j: (active[j] + 1) / jobs[j].priority)
            job, block = jobs[j], queues[j][0]
            holders = {c.giver_id for c in block.leased}
            barred = {*block.refused, *holders}
            barred_owners = {c.owner for c in block.leased}
            sampled = len(decision_ns) % stride == 0
            refused += bool(block.refused)
            shunning += bool(block.shunned)
            second_copies += bool(block.leased)

            expected = None
            if sampled:
                t = time.perf_counter_ns()
                expected = scan_choice(
                    givers, free, job.needs, typical, barred, barred_owners, block.shunned
                )
                baseline_ns.append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            chosen = placer.choose(
                job.needs, barred=barred, barred_owners=barred_owners, shunned=block.shunned
            )
            if chosen is not None:
                placer.take(chosen.giver_id)
            decision_ns.append(time.perf_counter_ns() - t)

            if sampled and (expected and expected.giver_id) != (chosen and chosen.giver_id):
                disagreements += 1
            if chosen is None:
                unplaced += 1
                blocked.add(j)
                continue
            giver_id = chosen.giver_id
            assert giver_id in eligible[j], f"{giver_id} cannot run job {job.needs.job_id}"
            assert free[giver_id] > 0, f"{giver_id} has no free slot"
            assert giver_id not in barred and chosen.owner not in barred_owners, (
                f"{giver_id} is barred from the block"
            )
            free[giver_id] -= 1
            free_total -= 1
            load[giver_id] += 1
            active[j] += 1
            leases.append((giver_id, j))
            leased += 1
            block.leased.append(chosen)
            if len(block.leased) == job.copies:
                queues[j].popleft()
        leased_per_round.append(leased)

        kept = []
        for lease in leases:
            if rng.random() < args.complete_share:
                load[lease[0]] -= 1
            else:
                kept.append(lease)
        if not leased and len(kept) == len(leases):
            raise SystemExit("placement simulation stuck: nothing placed and nothing ended")
        leases = kept

    return {
        "decisions": len(decision_ns),
        "placed": len(decision_ns) - unplaced,
        "unplaced": unplaced,
        "blocks_left": sum(len(q) for q in queues),
        "rounds": len(build_ns),
        "decision_ns": decision_ns,
        "baseline_ns": baseline_ns,
        "build_ns": build_ns,
        "leased_per_round": leased_per_round,
        "disagreements": disagreements,
        "refused": refused,
        "shunning": shunning,
        "second_copies": second_copies,
        "slots": sum(g.caps.slots for g in givers if not g.record.flagged),
    }


def quantile_ms(values_ns: list[int], q: float) -> float:
    ordered = sorted(values_ns)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def rate_per_s(values_ns: list[int]) -> float:
    return len(values_ns) / (sum(values_ns) / 1e9)


# Through PlacementRounds on SQLite ---------------------------------------------------


class CountingSession:
    """A Giver's session that keeps count of the tasks it is sent, and runs none."""

    def __init__(self, giver_id: str) -> None:
        self.giver_id = giver_id
        self.closed = False
        self.assigned = 0

    async def send(self, message: messages.Message) -> None:
        if isinstance(message, messages.Assign):
            self.assigned += 1

    async def close(self) -> None:
        self.closed = True


@dataclass(frozen=True, slots=True)
class Rounds:
    round_s: list[float]
    leased: int  # tasks sent during the rounds
    placer_build_s: list[float]  # PlacementRounds.placer() with its first job's heap, after


async def open_stores(stack: contextlib.AsyncExitStack, work: Path) -> KeyManager:
    """A key manager on SQLite state and Channel files in `work`, closed with `stack`."""
    channel = await open_channel(f"sqlite:///{work}/channel.sqlite3")
    stack.push_async_callback(channel.close)
    state = await open_state(f"sqlite:///{work}/state.sqlite3")
    stack.push_async_callback(state.close)
    return KeyManager(state, channel, lease_grace_s=LEASE_GRACE_S)


async def timed_rounds(
    work: Path,
    givers: list[Candidate],
    bodies: list[dict[str, Any]],
    rounds: int,
    *,
    tail_copies: bool = True,
    builds: int = 0,
) -> Rounds:
    """`rounds` rounds of the real coordinator on SQLite files over `givers` (whose
    sessions only count what they are sent), with jobs of `bodies`, each round timed."""
    async with contextlib.AsyncExitStack() as stack:
        keys = await open_stores(stack, work)
        trust = TrustBook()
        trust.load([g.record.to_doc() for g in givers])
        registry = GiverRegistry()
        watch = Watch(contact_interval_s=QUIET.contact_interval_s, tail_copies=tail_copies)
        coordinator = Coordinator(
            keys,
            registry,
            trust,
            identity=Identity.generate(),
            poll_interval_s=POLL_INTERVAL_S,
            watch=watch,
        )
        sessions = []
        for g in givers:
            volunteer = (
                g.owner.removeprefix("volunteer:") if g.owner.startswith("volunteer:") else ""
            )
            registry.register(GiverInfo(g.giver_id, "", g.giver_id, g.caps, 0.0, volunteer))
            session = CountingSession(g.giver_id)
            coordinator.attach(session)  # type: ignore[arg-type]
            sessions.append(session)
        jobs = [
            await create_job(keys, parse_job(body), scratch_dir=work / "scratch") for body in bodies
        ]
        round_s = []
        for _ in range(rounds):
            started = time.perf_counter()
            await coordinator.step()
            round_s.append(time.perf_counter() - started)
        leased = sum(s.assigned for s in sessions)
        if leased != len(keys.leases):
            raise SystemExit(f"{leased} tasks sent but {len(keys.leases)} leases held")

        # The round's Placer as PlacementRounds builds it, over the leases now held.
        scheduler = PlacementRounds(keys, registry, trust, rng=random.Random(0), batch=STEP_BATCH)
        build_s = []
        for _ in range(builds):
            started = time.perf_counter()
            scheduler.placer(registry.online()).unfit_reasons(needs_of(jobs[0]))
            build_s.append(time.perf_counter() - started)
    return Rounds(round_s, leased, build_s)


def rounds_figures(work: Path, args: argparse.Namespace, placer_rate: float) -> dict[str, Any]:
    """Leases per second of real rounds; rounds with a job no free Giver can run; rounds
    at the end of a job, without and with tail copies."""
    givers = sim_givers(random.Random(args.seed), args.givers, [RANGE_IMAGE])
    plain = {"image": RANGE_IMAGE, "range": [0, args.blocks], "block_size": 1}
    # First in line, the arm64 job fills its Givers within the first half of the rounds.
    arm = {**plain, "requires": {"arch": "arm64"}, "priority": 1000}
    late = args.sqlite_rounds // 2

    def run(name: str, bodies: list[dict[str, Any]], rounds: int, **kw: Any) -> Rounds:
        (work / name).mkdir()
        return asyncio.run(timed_rounds(work / name, givers, bodies, rounds, **kw))

    leasing = run("leasing", [plain], args.sqlite_rounds, builds=args.sqlite_builds)
    unplaceable = run("unplaceable", [arm, plain], args.sqlite_rounds)
    drained_body = {**plain, "range": [0, args.drained_blocks]}
    warm = -(-args.drained_blocks // STEP_BATCH) + 1
    drained = {
        tail: run(f"drained-{tail}", [drained_body], warm + DRAINED_ROUNDS, tail_copies=tail)
        for tail in (False, True)
    }

    def ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 1)

    figures = {
        "leases_per_s_sqlite": round(leasing.leased / sum(leasing.round_s), 1),
        "leases_sqlite": leasing.leased,
        "round_ms_sqlite": ms(leasing.round_s),
        "scheduler_placer_build_ms_sqlite": round(ms(leasing.placer_build_s), 2),
        "round_ms_unplaceable_job_sqlite": ms(unplaceable.round_s[late:]),
        "baseline_round_ms_sqlite": ms(leasing.round_s[late:]),
        "drained_round_ms_with_copies": ms(drained[True].round_s[warm:]),
        "drained_round_ms_without_copies": ms(drained[False].round_s[warm:]),
    }
    print(
        f"scheduler on sqlite: {leasing.leased:,} leases in {args.sqlite_rounds} rounds (at "
        f"most {STEP_BATCH} each) in {sum(leasing.round_s):.2f} s: "
        f"{figures['leases_per_s_sqlite']:,.0f} leases/s, a round {figures['round_ms_sqlite']} "
        f"ms median, of which PlacementRounds.placer() with the job's heap "
        f"{figures['scheduler_placer_build_ms_sqlite']} ms",
        flush=True,
    )
    print(f"  baseline, the Placer alone above: {placer_rate:,.0f} decisions/s", flush=True)
    print(
        f"  with an arm64-only job beside it, once its Givers are full: a round "
        f"{figures['round_ms_unplaceable_job_sqlite']} ms median over the last {late} rounds "
        f"(baseline, the plain job alone: {figures['baseline_round_ms_sqlite']} ms)",
        flush=True,
    )
    print(
        f"  a job of {args.drained_blocks:,} blocks all leased, free slots left: a round with "
        f"tail copies {figures['drained_round_ms_with_copies']} ms median of {DRAINED_ROUNDS} "
        f"(baseline, without tail copies: {figures['drained_round_ms_without_copies']} ms)",
        flush=True,
    )
    return figures


# Tail copies ------------------------------------------------------------------------


TAIL_IMAGE = "bench/tail:1"


@dataclass(frozen=True, slots=True)
class Scenario:
    """Which Givers are slow in a tail run, and when."""

    prefix: str  # of its figures
    what: str
    slow_after: float  # share of the blocks out before the slow Givers slow down


SCENARIOS = {
    "slow": Scenario("tail", "slow throughout", 0.0),
    "stragglers": Scenario(
        "tail_stragglers",
        "at full speed until 80% of the blocks are out, then slow (their records say fast)",
        0.8,
    ),
}


@dataclass(slots=True)
class TailCount:
    """What the simulated Givers saw during one run."""

    first_copies: int = 0
    copies: int = 0  # Assigns of a block with a copy already running: tail copies
    copies_won: int = 0  # of those, the ones whose first copy was then cancelled
    last_first_copy_at: float = 0.0
    running: dict[str, list[str]] = field(default_factory=dict)  # block id -> task ids


class TimedGiver:
    """A Giver's session that runs each task as a sleep of its duration, then posts a
    signed result with every key done (its start and end times true); a Cancel
    stops the task. A slow Giver runs tasks sent once `slow_after` blocks are out
    at `slow_s_per_key`."""

    def __init__(
        self,
        identity: Identity,
        channel: Channel,
        coordinator: Coordinator,
        count: TailCount,
        *,
        s_per_key: float,
        slow_s_per_key: float,
        slow_after: int | None,
    ) -> None:
        self.giver_id = identity.id
        self.closed = False
        self.failures: list[BaseException] = []
        self._identity = identity
        self._channel = channel
        self._coordinator = coordinator
        self._count = count
        self._s_per_key = s_per_key
        self._slow_s_per_key = slow_s_per_key
        self._slow_after = slow_after
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def send(self, message: messages.Message) -> None:
        count = self._count
        match message:
            case messages.Assign(task=task):
                slow = self._slow_after is not None and count.first_copies >= self._slow_after
                running = count.running.setdefault(task.task_id.rpartition(".")[0], [])
                if running:
                    count.copies += 1
                else:
                    count.first_copies += 1
                    count.last_first_copy_at = time.monotonic()
                running.append(task.task_id)
                s_per_key = self._slow_s_per_key if slow else self._s_per_key
                runner = asyncio.create_task(self._run(task, s_per_key), name=task.task_id)
                self._tasks[task.task_id] = runner
                runner.add_done_callback(self._done)
            case messages.Cancel(task_id=task_id):
                running = count.running.get(task_id.rpartition(".")[0], [])
                if len(running) > 1 and running[0] == task_id:
                    count.copies_won += 1
                runner = self._tasks.get(task_id)
                if runner is not None:
                    runner.cancel()

    def _done(self, runner: asyncio.Task[None]) -> None:
        self._tasks.pop(runner.get_name(), None)
        if not runner.cancelled() and runner.exception() is not None:
            self.failures.append(runner.exception())  # type: ignore[arg-type]

    async def _run(self, task: Task, s_per_key: float) -> None:
        keys = list(task.block)
        started = time.time()
        await asyncio.sleep(s_per_key * len(keys))
        result = Result(
            result_id=uuid.uuid4().hex,
            task_id=task.task_id,
            job_id=task.job_id,
            giver_id="",
            records=[{"key": key, "data": {"n": n}} for n, key in enumerate(keys)],
            outcomes=[KeyOutcome(key, True) for key in keys],
            error=None,
            started_at=started,
            finished_at=time.time(),
        )
        await self._channel.put_result(sign_result(self._identity, result))
        done = messages.Done(task.task_id, result.result_id)
        await self._coordinator.on_message(self._identity.id, done)

    async def close(self) -> None:
        self.closed = True
        runners = list(self._tasks.values())
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)


async def tail_run(
    work: Path, scenario: Scenario, tail_copies: bool, args: argparse.Namespace
) -> dict[str, Any]:
    """Wall time of one job to done, with or without tail copies."""
    count = TailCount()
    async with contextlib.AsyncExitStack() as stack:
        keys = await open_stores(stack, work)
        channel = keys.channel
        registry = GiverRegistry()
        watch = Watch(contact_interval_s=QUIET.contact_interval_s, tail_copies=tail_copies)
        coordinator = Coordinator(
            keys,
            registry,
            TrustBook(),
            identity=Identity.generate(),
            poll_interval_s=POLL_INTERVAL_S,
            watch=watch,
        )
        s_per_key = args.tail_block_s / args.tail_block_size
        slow_count = round(args.tail_givers * args.tail_slow_share)
        givers = []
        caps = Capabilities(
            cpus=2,
            memory_bytes=4 * GIB,
            arch="amd64",
            os="linux",
            docker_version="bench",
            slots=args.tail_slots,
        )
        for n in range(args.tail_givers):
            slow = n < slow_count
            identity = Identity.generate()
            await channel.register_giver(identity.id, identity.public_key)
            registry.register(GiverInfo(identity.id, identity.public_key, f"bench-{n}", caps, 0.0))
            giver = TimedGiver(
                identity,
                channel,
                coordinator,
                count,
                s_per_key=s_per_key,
                slow_s_per_key=s_per_key * args.tail_slowdown,
                slow_after=round(scenario.slow_after * args.tail_blocks) if slow else None,
            )
            stack.push_async_callback(giver.close)
            givers.append(giver)
        body = {
            "image": TAIL_IMAGE,
            "range": [0, args.tail_blocks * args.tail_block_size],
            "block_size": args.tail_block_size,
        }
        job = await create_job(keys, parse_job(body), scratch_dir=work / "scratch")

        started = time.monotonic()
        for giver in givers:
            coordinator.attach(giver)  # type: ignore[arg-type]
        runner = asyncio.create_task(coordinator.run(), name="coordinator")
        try:
            deadline = started + TAIL_BUDGET_S
            # Nothing signals a job's end but its status; watch it as `seeker submit --wait` does.
            while job.status is not JobStatus.DONE and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(TAIL_WATCH_S)
            ended = time.monotonic()
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        failures = [f for g in givers for f in g.failures]
        if failures:
            raise SystemExit(f"a simulated Giver could not post: {failures[0]!r}")
        counts = job.counts()
        if job.status is not JobStatus.DONE or counts["done"] != counts["total"]:
            raise SystemExit(f"the tail job did not finish within {TAIL_BUDGET_S:.0f} s: {counts}")
    return {
        "job_s": ended - started,
        "end_s": ended - count.last_first_copy_at,
        "copies": count.copies,
        "copies_won": count.copies_won,
    }


def tail_runs(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Each scenario without and with tail copies, alternating; the figures."""
    scenarios = [SCENARIOS[name] for name in args.tail_scenarios.split(",")]
    runs: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for n in range(1, args.repeat + 1):
        for scenario in scenarios:
            for tail_copies in (False, True):
                kind = "with" if tail_copies else "without"
                run_dir = work / f"{scenario.prefix}-{kind}-{n}"
                run_dir.mkdir()
                run = asyncio.run(tail_run(run_dir, scenario, tail_copies, args))
                runs.setdefault((scenario.prefix, tail_copies), []).append(run)
                print(
                    f"{scenario.prefix} run {n} {kind} tail copies: job {run['job_s']:.2f} s, "
                    f"{run['end_s']:.2f} s after the last block went out, "
                    f"{run['copies']} tail copies ({run['copies_won']} beat the first copy)",
                    flush=True,
                )
    slow = round(args.tail_givers * args.tail_slow_share)
    figures: dict[str, Any] = {
        "tail_givers": args.tail_givers,
        "tail_slow_givers": slow,
        "tail_blocks": args.tail_blocks,
        "tail_fast_block_s": args.tail_block_s,
        "tail_slow_block_s": round(args.tail_block_s * args.tail_slowdown, 3),
    }
    for scenario in scenarios:
        p = scenario.prefix
        without, with_copies = runs[p, False], runs[p, True]

        def median(runs: list[dict[str, Any]], name: str) -> float:
            return round(statistics.median(r[name] for r in runs), 2)

        figures |= {
            f"{p}_job_s_without_copies": median(without, "job_s"),
            f"{p}_job_s_with_copies": median(with_copies, "job_s"),
            f"{p}_end_s_without_copies": median(without, "end_s"),
            f"{p}_end_s_with_copies": median(with_copies, "end_s"),
            f"{p}_copies_median": median(with_copies, "copies"),
            f"{p}_copies_won_median": median(with_copies, "copies_won"),
        }
        print(
            f"{p}: {args.tail_blocks} blocks on {args.tail_givers} Givers x {args.tail_slots} "
            f"slots, {slow} of them {args.tail_slowdown:g}x slower ({figures['tail_slow_block_s']}"
            f" s a block against {args.tail_block_s} s) {scenario.what}: with tail copies "
            f"{figures[f'{p}_job_s_with_copies']} s median, "
            f"{figures[f'{p}_end_s_with_copies']} s after the last block went out "
            f"({figures[f'{p}_copies_median']:g} copies, {figures[f'{p}_copies_won_median']:g} "
            f"won)",
            flush=True,
        )
        print(
            f"  baseline, the same job without tail copies: "
            f"{figures[f'{p}_job_s_without_copies']} s median, "
            f"{figures[f'{p}_end_s_without_copies']} s after the last block went out",
            flush=True,
        )
    return figures


# Report -----------------------------------------------------------------------------


def placement_figures(args: argparse.Namespace) -> dict[str, Any]:
    run = placement_run(args)
    decisions, baseline, builds = run["decision_ns"], run["baseline_ns"], run["build_ns"]
    decisions_per_s = rate_per_s(decisions)
    build_p50_ms = quantile_ms(builds, 0.5)
    # A real round leases STEP_BATCH blocks at most, over one Placer build.
    at_step_batch = STEP_BATCH / (build_p50_ms / 1000 + STEP_BATCH / decisions_per_s)
    figures = {
        "givers": args.givers,
        "slots": run["slots"],
        "blocks": args.blocks,
        "rounds": run["rounds"],
        "decisions": len(decisions),
        "decisions_unplaced": run["unplaced"],
        "blocks_left": run["blocks_left"],
        "decisions_per_s": round(decisions_per_s, 1),
        "decision_p50_ms": round(quantile_ms(decisions, 0.5), 4),
        "decision_p99_ms": round(quantile_ms(decisions, 0.99), 4),
        "placer_build_ms_p50": round(build_p50_ms, 2),
        "placer_build_ms_max": round(max(builds) / 1e6, 2),
        "leases_per_round_median": statistics.median(run["leased_per_round"]),
        "decisions_per_s_with_build": round(
            len(decisions) / ((sum(decisions) + sum(builds)) / 1e9), 1
        ),
        "decisions_per_s_at_step_batch": round(at_step_batch, 1),
        "baseline_decisions": len(baseline),
        "baseline_decisions_per_s": round(rate_per_s(baseline), 1),
        "baseline_decision_p50_ms": round(quantile_ms(baseline, 0.5), 4),
        "baseline_decision_p99_ms": round(quantile_ms(baseline, 0.99), 4),
        "baseline_disagreements": run["disagreements"],
    }
    print(
        f"placement: {len(decisions):,} decisions ({run['placed']:,} leases, "
        f"{run['unplaced']:,} found no Giver; {run['refused']:,} with refusing Givers, "
        f"{run['shunning']:,} shunning some, {run['second_copies']:,} second copies) over "
        f"{run['rounds']} rounds, {args.givers:,} Givers ({run['slots']:,} slots), "
        f"{args.blocks:,} blocks ({run['blocks_left']:,} left unplaced)",
        flush=True,
    )
    print(
        f"  Placer choose+take: {decisions_per_s:,.0f} decisions/s, "
        f"p50 {figures['decision_p50_ms']:.4f} ms, p99 {figures['decision_p99_ms']:.4f} ms; "
        f"its build per round (heaps of every job) p50 {build_p50_ms:.2f} ms, max "
        f"{figures['placer_build_ms_max']:.2f} ms, for a median "
        f"{figures['leases_per_round_median']:,.0f} leases per round "
        f"({figures['decisions_per_s_with_build']:,.0f} decisions/s with builds, "
        f"{at_step_batch:,.0f} at {STEP_BATCH} leases per build)",
        flush=True,
    )
    print(
        f"  baseline, a scan of every Giver with unfit() and score(), {len(baseline):,} of the "
        f"same decisions: {figures['baseline_decisions_per_s']:,.0f} decisions/s, "
        f"p50 {figures['baseline_decision_p50_ms']:.4f} ms, "
        f"p99 {figures['baseline_decision_p99_ms']:.4f} ms "
        f"(the Placer is {decisions_per_s / figures['baseline_decisions_per_s']:.0f}x "
        f"faster; {run['disagreements']} choices differ)",
        flush=True,
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--givers", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=100_000)
    parser.add_argument(
        "--complete-share", type=float, default=0.5, help="of leases ending between rounds"
    )
    parser.add_argument("--max-decisions", type=int, default=400_000)
    parser.add_argument(
        "--baseline-decisions", type=int, default=2000, help="decisions also made by a scan"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sqlite-rounds", type=int, default=30, help="real rounds timed per run; 0: skip"
    )
    parser.add_argument(
        "--drained-blocks", type=int, default=4000, help="of the job whose end rounds are timed"
    )
    parser.add_argument("--sqlite-builds", type=int, default=5, help="Placer builds timed")
    parser.add_argument("--tail-givers", type=int, default=30)
    parser.add_argument("--tail-slots", type=int, default=2, help="slots per tail Giver")
    parser.add_argument("--tail-slow-share", type=float, default=0.2)
    parser.add_argument("--tail-slowdown", type=float, default=20.0)
    parser.add_argument("--tail-blocks", type=int, default=1200)
    parser.add_argument("--tail-block-size", type=int, default=5)
    parser.add_argument(
        "--tail-block-s", type=float, default=0.1, help="a fast Giver's seconds per block"
    )
    parser.add_argument(
        "--tail-scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, of {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="tail runs of each kind")
    args = _cli.parse(parser, SMOKE)
    unknown = set(args.tail_scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown tail scenario(s): {', '.join(sorted(unknown))}")

    try:
        figures = placement_figures(args)
        with tempfile.TemporaryDirectory(prefix="seekgive-bench-") as tmp:
            work = Path(tmp)
            if args.sqlite_rounds > 0:
                figures |= rounds_figures(work, args, figures["decisions_per_s"])
            figures |= tail_runs(work, args)
    except KeyboardInterrupt:
        print("placement bench: interrupted", file=sys.stderr)
        return 130
    _cli.print_figures(args, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
