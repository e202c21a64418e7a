"""Placement as pure logic: eligibility, scores, and the Placer's choices.

The property tests draw random Givers and jobs: whatever they are, no choice
is ever an ineligible, flagged, full or barred Giver, and a choice is made
whenever some Giver could take the block.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channel.wire.givers import Capabilities
from channel.wire.models import Limits
from seeker.grid.placement import Candidate, JobNeeds, Placer, remaining_s, unfit, worth_a_tail_copy
from seeker.grid.trust import GiverRecord
from seeker.work.needs import Requirements

pytestmark = pytest.mark.unit

ARCHES = ("amd64", "arm64")
LABELS = ("region=eu", "region=us", "residential=true", "residential=false", "gpu")
GIB = 2**30


def _labels(picked: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for label in picked:
        name, _, value = label.partition("=")
        labels[name] = value
    return labels


capabilities = st.builds(
    Capabilities,
    cpus=st.integers(1, 16),
    memory_bytes=st.integers(1, 32).map(lambda g: g * GIB),
    arch=st.sampled_from(ARCHES),
    os=st.just("linux"),
    docker_version=st.just("26.1"),
    slots=st.integers(1, 4),
    images=st.lists(st.sampled_from(("scraper:1", "other:2")), unique=True).map(tuple),
    labels=st.lists(st.sampled_from(LABELS)).map(_labels),
)


@st.composite
def candidates(draw: st.DrawFn) -> list[Candidate]:
    caps = draw(st.lists(capabilities, min_size=0, max_size=12))
    result = []
    for i, c in enumerate(caps):
        record = GiverRecord(
            f"g{i}",
            reliability=draw(st.floats(0, 1)),
            seconds_per_key=draw(st.none() | st.floats(0.01, 100)),
            flagged=draw(st.sampled_from(("", "", "", "rejected"))),
        )
        owner = f"volunteer:{draw(st.integers(0, 5))}"
        result.append(Candidate(f"g{i}", owner, c, record))
    return result


requirements = st.builds(
    Requirements,
    min_cpus=st.integers(0, 8),
    min_memory_bytes=st.integers(0, 16).map(lambda g: g * GIB),
    arch=st.lists(st.sampled_from(ARCHES), unique=True, max_size=1).map(tuple),
    labels=st.lists(st.sampled_from((*LABELS, "region")), max_size=2).map(tuple),
    exclude_labels=st.lists(st.sampled_from(LABELS), max_size=1).map(tuple),
)
limits = st.builds(
    Limits,
    memory_bytes=st.integers(1, 8).map(lambda g: g * GIB),
    cpus=st.sampled_from((0.5, 1.0, 2.0)),
)


@settings(max_examples=300, deadline=None)
@given(
    givers=candidates(),
    needs=requirements,
    job_limits=limits,
    load=st.dictionaries(st.sampled_from([f"g{i}" for i in range(12)]), st.integers(0, 4)),
    blocks=st.lists(
        st.tuples(
            st.sets(st.sampled_from([f"g{i}" for i in range(12)]), max_size=3),
            st.sets(st.sampled_from([f"volunteer:{i}" for i in range(6)]), max_size=2),
            st.sets(st.sampled_from([f"g{i}" for i in range(12)]), max_size=3),
        ),
        max_size=30,
    ),
)
def test_no_block_ever_lands_on_an_ineligible_full_or_barred_giver(
    givers: list[Candidate],
    needs: Requirements,
    job_limits: Limits,
    load: dict[str, int],
    blocks: list[tuple[set[str], set[str], set[str]]],
) -> None:
    job = JobNeeds("j1", "scraper:1", needs, job_limits)
    placer = Placer(givers, load)
    taken = dict(load)
    by_id = {c.giver_id: c for c in givers}
    for barred, barred_owners, shunned in blocks:
        chosen = placer.choose(job, barred=barred, barred_owners=barred_owners, shunned=shunned)
        possible = [
            c
            for c in givers
            if unfit(c.caps, needs, job_limits) is None
            and not c.record.flagged
            and taken.get(c.giver_id, 0) < c.caps.slots
            and c.giver_id not in barred
            and c.owner not in barred_owners
        ]
        if chosen is None:
            assert possible == []
            continue
        assert chosen in possible
        unshunned = [c for c in possible if c.giver_id not in shunned]
        assert chosen.giver_id not in shunned or unshunned == []
        placer.take(chosen.giver_id)
        taken[chosen.giver_id] = taken.get(chosen.giver_id, 0) + 1
    for giver_id, leases in taken.items():
        if giver_id in by_id and leases > load.get(giver_id, 0):
            assert leases <= by_id[giver_id].caps.slots


def caps(**given: object) -> Capabilities:
    base: dict[str, object] = {
        "cpus": 4,
        "memory_bytes": 8 * GIB,
        "arch": "amd64",
        "os": "linux",
        "docker_version": "26.1",
        "slots": 2,
    }
    return Capabilities(**{**base, **given})  # type: ignore[arg-type]


def test_unfit_names_what_is_missing() -> None:
    limits = Limits(memory_bytes=GIB, cpus=1.0)
    assert unfit(caps(), Requirements(), limits) is None
    assert unfit(caps(cpus=1), Requirements(min_cpus=2), limits) == "has 1 CPU(s), the job needs 2"
    assert unfit(caps(), Requirements(), Limits(cpus=6.0)) == "has 4 CPU(s), the job needs 6"
    assert unfit(caps(memory_bytes=GIB // 2), Requirements(), limits) == (
        "has 512 MiB, the job needs 1024 MiB"
    )
    assert unfit(caps(), Requirements(arch=("arm64",)), limits) == "is amd64, the job runs on arm64"
    eu = caps(labels={"region": "eu", "residential": "true"})
    assert unfit(eu, Requirements(labels=("region=eu", "residential")), limits) is None
    assert unfit(eu, Requirements(labels=("region=us",)), limits) == "lacks label(s) region=us"
    assert unfit(eu, Requirements(exclude_labels=("residential=true",)), limits) == (
        "has excluded label(s) residential=true"
    )


def test_the_score_prefers_reliable_then_cached_then_fast_then_free_givers() -> None:
    job = JobNeeds("j1", "scraper:1", Requirements(), Limits())

    def best(*givers: Candidate) -> str:
        chosen = Placer(givers, {}).choose(job)
        assert chosen is not None
        return chosen.giver_id

    steady = Candidate("steady", "a", caps(), GiverRecord("steady", reliability=0.95))
    flaky = Candidate(
        "flaky", "b", caps(images=("scraper:1",)), GiverRecord("flaky", reliability=0.3)
    )
    assert best(steady, flaky) == "steady"
    cached = Candidate("cached", "c", caps(images=("scraper:1",)), GiverRecord("cached"))
    bare = Candidate("bare", "d", caps(), GiverRecord("bare"))
    assert best(bare, cached) == "cached"
    pinned = JobNeeds("j2", f"scraper@sha256:{'a' * 64}", Requirements(), Limits())
    by_id = Candidate("by-id", "i", caps(images=(f"sha256:{'a' * 64}",)), GiverRecord("by-id"))
    assert Placer([bare, by_id], {}).choose(pinned).giver_id == "by-id"  # type: ignore[union-attr]
    fast = Candidate("fast", "e", caps(), GiverRecord("fast", seconds_per_key=0.1))
    slow = Candidate("slow", "f", caps(), GiverRecord("slow", seconds_per_key=10.0))
    assert best(slow, fast) == "fast"
    roomy = Candidate("roomy", "g", caps(slots=4), GiverRecord("roomy"))
    busy = Candidate("busy", "h", caps(slots=4), GiverRecord("busy"))
    assert Placer([busy, roomy], {"busy": 3}).choose(job).giver_id == "roomy"  # type: ignore[union-attr]


def test_a_placer_spreads_a_round_over_givers_and_never_overfills_one() -> None:
    job = JobNeeds("j1", "scraper:1", Requirements(), Limits())
    givers = [Candidate(f"g{i}", f"o{i}", caps(slots=2), GiverRecord(f"g{i}")) for i in range(3)]
    placer = Placer(givers, {"g0": 1})
    chosen = []
    while (c := placer.choose(job)) is not None:
        chosen.append(c.giver_id)
        placer.take(c.giver_id)
    assert sorted(chosen) == ["g0", "g1", "g1", "g2", "g2"] and placer.free == 0
    assert chosen[:2] in (["g1", "g2"], ["g2", "g1"])


def test_a_tail_copy_is_worth_it_only_for_a_copy_running_much_longer_than_the_idle_giver() -> None:
    assert remaining_s(10.0, 100, 25, None) == 30.0
    assert remaining_s(10.0, 100, 0, 0.5) == 40.0
    assert remaining_s(80.0, 100, 0, 0.5) == 80.0  # overdue: as long again
    assert remaining_s(10.0, 100, 0, None) is None
    assert not worth_a_tail_copy(remaining=100.0, elapsed_s=1.0, candidate_s=5.0)
    assert not worth_a_tail_copy(remaining=8.0, elapsed_s=10.0, candidate_s=5.0)
    assert worth_a_tail_copy(remaining=30.0, elapsed_s=10.0, candidate_s=5.0)
    assert worth_a_tail_copy(remaining=None, elapsed_s=10.0, candidate_s=5.0)


def test_a_giver_whose_architecture_has_no_image_is_unfit_and_its_image_is_preferred_cached() -> (
    None
):
    job = JobNeeds("j1", "", Requirements(), Limits(), images={"amd64": "s:amd", "arm64": "s:arm"})
    v7 = Candidate("v7", "a", caps(arch="arm/v7", images=("s:amd",)), GiverRecord("v7"))
    wrong = Candidate("wrong", "b", caps(images=("s:arm",)), GiverRecord("wrong"))
    right = Candidate("right", "c", caps(arch="arm64", images=("s:arm",)), GiverRecord("right"))
    placer = Placer([v7, wrong, right], {})
    assert placer.unfit_reasons(job) == {"v7": "is arm/v7, the job has images for amd64, arm64"}
    assert placer.eligible(job) == ["wrong", "right"]
    chosen = placer.choose(job)
    assert chosen is not None and chosen.giver_id == "right"
    assert (job.image_for("arm64"), job.image_for("arm/v7")) == ("s:arm", None)
    assert JobNeeds("j2", "s:1", Requirements(), Limits()).unfit(v7.caps) is None
