"""What happens to a block, record by record: the leases on its copies, the runs
counted against it (seeker.work.blocks derives everything else from these),
the round of copies out now, and the tally of its keys by state. Pure logic."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from channel.errors import WireError
from channel.wire.models import KeyBlock, field_of
from seeker.work.choice import Vote


class Role(StrEnum):
    """What a run is to the block: `chosen` runs count; `agreed` and `rejected`
    ones are the other copies of their round, kept as its record."""

    CHOSEN = "chosen"
    AGREED = "agreed"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Lease:
    """A Giver's claim on a copy of a block, as task `task_id`, until `deadline`."""

    task_id: str
    giver_id: str
    deadline: float
    keys: KeyBlock
    leased_at: float = 0.0

    def to_doc(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "giver_id": self.giver_id,
            "deadline": self.deadline,
            "keys": self.keys.to_wire(),
            "leased_at": self.leased_at,
        }

    @classmethod
    def from_doc(cls, doc: Any) -> "Lease":
        return cls(
            task_id=field_of(doc, "task_id", str, "lease"),
            giver_id=field_of(doc, "giver_id", str, "lease"),
            deadline=float(field_of(doc, "deadline", (int, float), "lease")),
            keys=KeyBlock.from_wire(field_of(doc, "keys", dict, "lease"), "lease.keys"),
            leased_at=float(field_of(doc, "leased_at", (int, float), "lease")),
        )


@dataclass(frozen=True, slots=True)
class Run:
    """One copy's outcome: a result (`result_id`), or a Giver's invalidation (no
    result; every key of the copy failed). `final` runs fail their keys for good
    however many attempts are left. `digest` is the result's comparison digest
    when its round compared results."""

    task_id: str
    giver_id: str
    at: float
    keys: KeyBlock
    failed: dict[str, str]
    result_id: str | None = None
    final: bool = False
    digest: str = ""
    role: Role = Role.CHOSEN

    def ok_keys(self) -> set[str]:
        if self.result_id is None or self.role is not Role.CHOSEN:
            return set()
        return {key for key in self.keys if key not in self.failed}

    @property
    def counts(self) -> bool:
        return self.role is Role.CHOSEN

    @property
    def vote(self) -> Vote:
        return Vote(self.digest, empty=len(self.failed) == len(self.keys))

    def to_doc(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "giver_id": self.giver_id,
            "at": self.at,
            "keys": self.keys.to_wire(),
            "failed": self.failed,
            "result_id": self.result_id,
            "final": self.final,
            "digest": self.digest,
            "role": self.role.value,
        }

    @classmethod
    def from_doc(cls, doc: Any) -> "Run":
        failed = field_of(doc, "failed", dict, "run")
        if not all(isinstance(v, str) for v in failed.values()):
            raise WireError("run.failed must map keys to reasons")
        try:
            role = Role(field_of(doc, "role", str, "run"))
        except ValueError as e:
            raise WireError(f"run.role must be one of {', '.join(Role)}") from e
        return cls(
            task_id=field_of(doc, "task_id", str, "run"),
            giver_id=field_of(doc, "giver_id", str, "run"),
            at=float(field_of(doc, "at", (int, float), "run")),
            keys=KeyBlock.from_wire(field_of(doc, "keys", dict, "run"), "run.keys"),
            failed=failed,
            result_id=field_of(doc, "result_id", (str, type(None)), "run"),
            final=field_of(doc, "final", bool, "run"),
            digest=field_of(doc, "digest", str, "run"),
            role=role,
        )


@dataclass(frozen=True, slots=True)
class Round:
    """The copies of one attempt at a block's remaining `keys`: `wanted` of them
    (grown by extra copies after a disagreement and by a tail copy), of which
    `quorum` must agree."""

    keys: KeyBlock
    quorum: int = 1
    wanted: int = 1
    extra: int = 0
    tailed: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {
            "keys": self.keys.to_wire(),
            "quorum": self.quorum,
            "wanted": self.wanted,
            "extra": self.extra,
            "tailed": self.tailed,
        }

    @classmethod
    def from_doc(cls, doc: Any) -> "Round":
        return cls(
            keys=KeyBlock.from_wire(field_of(doc, "keys", dict, "round"), "round.keys"),
            quorum=field_of(doc, "quorum", int, "round"),
            wanted=field_of(doc, "wanted", int, "round"),
            extra=field_of(doc, "extra", int, "round"),
            tailed=field_of(doc, "tailed", bool, "round"),
        )


@dataclass(frozen=True, slots=True)
class Tally:
    """A block's (or a job's) keys by state; the four add up to its size."""

    done: int = 0
    failed: int = 0
    leased: int = 0
    pending: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            self.done + other.done,
            self.failed + other.failed,
            self.leased + other.leased,
            self.pending + other.pending,
        )

    def __sub__(self, other: "Tally") -> "Tally":
        return Tally(
            self.done - other.done,
            self.failed - other.failed,
            self.leased - other.leased,
            self.pending - other.pending,
        )
