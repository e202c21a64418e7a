"""What happens to a block, record by record: the leases on its copies, the runs
counted against it, the round of copies out now, and the tally of its keys by
state; and what these add up to (`BlockHistory`, which seeker.work.blocks'
`Block` extends): which keys are done, failed or left, the block's status, when
it may be leased again, and which Givers hold or reported its copies. Pure logic."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from channel.errors import WireError
from channel.wire.models import KeyBlock, field_of
from seeker.work.choice import Vote

MAX_BACKOFF_S = 3600.0


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


class BlockStatus(StrEnum):
    PENDING = "pending"  # wants a copy leased
    LEASED = "leased"  # every copy its round wants is out
    DONE = "done"


class BlockHistory:
    """What a block's history adds up to: `Block` holds the history (its keys, the
    runs counted against it, the round under way, its copies out and the results
    in) and extends this."""

    __slots__ = ()

    keys: KeyBlock
    runs: tuple[Run, ...]
    round: Round | None
    copies: tuple[Lease, ...]
    votes: tuple[Run, ...]

    def outcome(self, max_attempts: int) -> tuple[list[str], dict[str, str], list[str]]:
        """The keys done, those failed for good (with the last reason), and those left."""
        if any(
            run.counts and run.result_id is not None and not run.failed and run.keys == self.keys
            for run in self.runs
        ):
            # A chosen result did every key (the usual end of a block).
            return list(self.keys), {}, []
        ok: set[str] = set()
        fails: dict[str, int] = {}
        reasons: dict[str, str] = {}
        final: set[str] = set()
        for run in self.runs:
            if not run.counts:
                continue
            ok |= run.ok_keys()
            for key, reason in run.failed.items():
                fails[key] = fails.get(key, 0) + 1
                reasons[key] = reason
                if run.final:
                    final.add(key)
        done, failed, left = [], {}, []
        for key in self.keys:
            if key in ok:
                done.append(key)
            elif key in final or fails.get(key, 0) >= max_attempts:
                failed[key] = reasons[key]
            else:
                left.append(key)
        return done, failed, left

    def remaining(self, max_attempts: int) -> KeyBlock | None:
        """The keys still to do, compactly if that is all of them; None if none are."""
        if not any(run.counts for run in self.runs):
            return self.keys
        left = self.outcome(max_attempts)[2]
        return KeyBlock(keys=tuple(left)) if left else None

    @property
    def wants_copy(self) -> bool:
        """Whether the current round (if any) wants another copy leased."""
        return self.round is None or len(self.copies) + len(self.votes) < self.round.wanted

    def status(self, max_attempts: int) -> BlockStatus:
        if self.round is not None:
            return BlockStatus.PENDING if self.wants_copy else BlockStatus.LEASED
        return BlockStatus.PENDING if self.remaining(max_attempts) else BlockStatus.DONE

    def tally(self, max_attempts: int) -> Tally:
        """Keys by state; those of a round under way count as leased."""
        if not self.runs:
            size = len(self.keys)
            return Tally(leased=size) if self.round else Tally(pending=size)
        done, failed, left = self.outcome(max_attempts)
        if self.round is not None:
            return Tally(len(done), len(failed), leased=len(left))
        return Tally(len(done), len(failed), pending=len(left))

    def ready_at(self, max_attempts: int, backoff_s: float) -> float:
        """When the block's remaining keys may be leased again: after a backoff
        that doubles with each failure of its most-failed key. A round under
        way takes its copies at once."""
        failures = [run for run in self.runs if run.failed and run.counts]
        if not failures or backoff_s <= 0 or self.round is not None:
            return 0.0
        left = set(self.outcome(max_attempts)[2])
        attempts = max(sum(key in run.failed for run in failures) for key in left) if left else 0
        if attempts == 0:
            return 0.0
        delay = min(backoff_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
        return max(run.at for run in failures) + delay

    def givers(self) -> list[str]:
        """Every Giver with a run on this block, a result in its round or a copy of it."""
        ids = {run.giver_id for run in (*self.runs, *self.votes) if run.giver_id}
        ids.update(lease.giver_id for lease in self.copies)
        return sorted(ids)

    def round_givers(self) -> set[str]:
        """The Givers holding a copy of the current round or with a result in it."""
        return {lease.giver_id for lease in self.copies} | {v.giver_id for v in self.votes}

    def copy(self, task_id: str) -> Lease | None:
        return next((lease for lease in self.copies if lease.task_id == task_id), None)

    def holder(self, task_id: str) -> str | None:
        """The Giver holding copy `task_id`, or None."""
        lease = self.copy(task_id)
        return lease.giver_id if lease is not None else None

    def reporter(self, task_id: str) -> str | None:
        """The Giver that holds `task_id` or whose result for it was counted, or None."""
        run = next(
            (r for r in (*self.votes, *self.runs) if r.task_id == task_id and r.result_id), None
        )
        return run.giver_id if run is not None else self.holder(task_id)
