"""Redundant copies of a block and the choice among their results: pure logic.

A job may run each block on several Givers (`replicas`) and count a result
only once `quorum` of them agree. Results agree when their *comparison
digests* match: a digest of the records and of which keys succeeded, so two
Givers that scraped the same data agree whatever order they wrote it in or
whatever reasons they gave for a failure. The `majority_ignoring` choice
leaves named fields of each record's data out of the digest (a fetch time
differs between any two fetches of a page). A sealed job's copies are
compared by the `agreement` their Givers computed over the plaintext, which
the Seeker cannot read.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from channel.wire.comparison import comparison_parts
from channel.wire.results import Result


class Choice(StrEnum):
    MAJORITY = "majority"
    FIRST = "first"
    MAJORITY_IGNORING = "majority_ignoring"


@dataclass(frozen=True, slots=True)
class Redundancy:
    """How many copies of each block run, and how their results are chosen among.

    With `adaptive`, a block whose first copy goes to a Giver trusted for the
    job's image (`trust_after` validated results in a row) runs that copy
    alone, except for a random `spot_check` share; every other block runs
    `replicas` copies.
    """

    replicas: int = 1
    quorum: int = 1
    choice: Choice = Choice.MAJORITY
    ignore_fields: tuple[str, ...] = ()
    max_extra_copies: int = 2
    adaptive: bool = False
    trust_after: int = 10
    spot_check: float = 0.1

    def to_wire(self) -> dict[str, Any]:
        return {
            "replicas": self.replicas,
            "quorum": self.quorum,
            "choice": self.choice.value,
            "ignore_fields": list(self.ignore_fields),
            "max_extra_copies": self.max_extra_copies,
            "adaptive": self.adaptive,
            "trust_after": self.trust_after,
            "spot_check": self.spot_check,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "Redundancy":
        return cls(
            replicas=data["replicas"],
            quorum=data["quorum"],
            choice=Choice(data["choice"]),
            ignore_fields=tuple(data["ignore_fields"]),
            max_extra_copies=data["max_extra_copies"],
            adaptive=data["adaptive"],
            trust_after=data["trust_after"],
            spot_check=data["spot_check"],
        )


def comparison_digest(result: Result, ignore_fields: Sequence[str] = ()) -> str:
    """A digest two results share exactly when they report the same records (in any
    order, minus `ignore_fields` of their data) and the same keys as done."""
    digest = hashlib.sha256()
    for part in comparison_parts(result.records, result.outcomes, ignore_fields):
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Vote:
    """What the choice needs of one copy's result."""

    digest: str
    empty: bool  # no key done: the copy failed as a whole


class Verdict(StrEnum):
    WAIT = "wait"  # more results may still settle it
    CHOSEN = "chosen"  # votes[winner] counts; those in `agreeing` agree with it
    STUCK = "stuck"  # no result can reach the quorum with the copies left


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    winner: int = -1
    agreeing: frozenset[int] = frozenset()


def decide(votes: Sequence[Vote], outstanding: int, quorum: int, choice: Choice) -> Decision:
    """Settle a round from its `votes` (in arrival order), with `outstanding`
    copies still to report. A copy that failed as a whole wins only once no
    other copy can report, so a crash on one Giver never beats a result coming
    from another."""
    if not votes:
        return Decision(Verdict.WAIT)
    if choice is Choice.FIRST or quorum <= 1:
        useful = [i for i, v in enumerate(votes) if not v.empty]
        if useful:
            return Decision(Verdict.CHOSEN, useful[0], frozenset(useful[:1]))
        if outstanding:
            return Decision(Verdict.WAIT)
        return Decision(Verdict.CHOSEN, 0, frozenset({0}))
    groups: dict[str, list[int]] = {}
    for i, vote in enumerate(votes):
        groups.setdefault(vote.digest, []).append(i)
    for members in groups.values():
        if len(members) >= quorum:
            return Decision(Verdict.CHOSEN, members[0], frozenset(members))
    largest = max(len(members) for members in groups.values())
    if largest + outstanding >= quorum:
        return Decision(Verdict.WAIT)
    return Decision(Verdict.STUCK)


def disagreement(digests: Sequence[tuple[str, str]]) -> str:
    """Describe differing results: `(giver_id, digest)` pairs, grouped by digest."""
    groups: dict[str, list[str]] = {}
    for giver_id, digest in digests:
        groups.setdefault(digest, []).append(giver_id)
    parts = [f"{digest[:12]} from {', '.join(givers)}" for digest, givers in groups.items()]
    return f"copies disagree ({len(groups)} different results: {'; '.join(parts)})"
