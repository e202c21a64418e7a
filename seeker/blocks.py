"""A block of a job's keys and everything that happened to it: pure logic.

A block's whole history lives in one document, so every change to it is one
single-document write that either happens or does not. The block keeps its
keys (a range or a list) and the *runs* counted against it: each counted
result, or each Giver's invalidation, with the keys it covered and the keys
that failed in it. Everything else (which keys are done, which failed for
good, which remain, whether it waits for a retry) is derived from those, so
discarding a run is removing it from the list.

The clock is passed in: wall-clock seconds, since leases outlive a restart.
"""

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from channel.errors import WireError
from channel.models import KeyBlock, Result, field_of

MAX_BACKOFF_S = 3600.0
# A failure reason is kept per key; a longer one (a whole log, say) is cut.
MAX_REASON_CHARS = 500


class BlockStatus(StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Lease:
    """A Giver's claim on a block, as task `task_id`, until `deadline`."""

    task_id: str
    giver_id: str
    deadline: float
    keys: KeyBlock

    def to_doc(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "giver_id": self.giver_id,
            "deadline": self.deadline,
            "keys": self.keys.to_wire(),
        }

    @classmethod
    def from_doc(cls, doc: Any) -> "Lease":
        return cls(
            task_id=field_of(doc, "task_id", str, "lease"),
            giver_id=field_of(doc, "giver_id", str, "lease"),
            deadline=float(field_of(doc, "deadline", (int, float), "lease")),
            keys=KeyBlock.from_wire(field_of(doc, "keys", dict, "lease"), "lease.keys"),
        )


@dataclass(frozen=True, slots=True)
class Run:
    """One lease's outcome as counted: a result (`result_id`), or a Giver's
    invalidation (no result; every key of the lease failed). `final` runs
    fail their keys for good however many attempts are left."""

    task_id: str
    giver_id: str
    at: float
    keys: KeyBlock
    failed: dict[str, str]
    result_id: str | None = None
    final: bool = False

    def ok_keys(self) -> set[str]:
        if self.result_id is None:
            return set()
        return {key for key in self.keys if key not in self.failed}

    def to_doc(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "giver_id": self.giver_id,
            "at": self.at,
            "keys": self.keys.to_wire(),
            "failed": self.failed,
            "result_id": self.result_id,
            "final": self.final,
        }

    @classmethod
    def from_doc(cls, doc: Any) -> "Run":
        failed = field_of(doc, "failed", dict, "run")
        if not all(isinstance(v, str) for v in failed.values()):
            raise WireError("run.failed must map keys to reasons")
        return cls(
            task_id=field_of(doc, "task_id", str, "run"),
            giver_id=field_of(doc, "giver_id", str, "run"),
            at=float(field_of(doc, "at", (int, float), "run")),
            keys=KeyBlock.from_wire(field_of(doc, "keys", dict, "run"), "run.keys"),
            failed=failed,
            result_id=field_of(doc, "result_id", (str, type(None)), "run"),
            final=field_of(doc, "final", bool, "run"),
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


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a job: immutable, every change makes a new one with `version + 1`."""

    job_id: str
    seq: int
    keys: KeyBlock
    runs: tuple[Run, ...] = ()
    lease: Lease | None = None
    leases: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    # Givers another is preferred to: they failed, released or were invalidated here.
    shunned: tuple[str, ...] = ()
    version: int = 0

    @property
    def block_id(self) -> str:
        return block_id(self.job_id, self.seq)

    # What the runs add up to ------------------------------------------------

    def outcome(self, max_attempts: int) -> tuple[list[str], dict[str, str], list[str]]:
        """The keys done, those failed for good (with the last reason), and those left."""
        ok: set[str] = set()
        fails: dict[str, int] = {}
        reasons: dict[str, str] = {}
        final: set[str] = set()
        for run in self.runs:
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
        if not self.runs:
            return self.keys
        left = self.outcome(max_attempts)[2]
        return KeyBlock(keys=tuple(left)) if left else None

    def status(self, max_attempts: int) -> BlockStatus:
        if self.lease is not None:
            return BlockStatus.LEASED
        return BlockStatus.PENDING if self.remaining(max_attempts) else BlockStatus.DONE

    def tally(self, max_attempts: int) -> Tally:
        if not self.runs:
            size = len(self.keys)
            return Tally(leased=size) if self.lease else Tally(pending=size)
        done, failed, left = self.outcome(max_attempts)
        if self.lease is not None:
            return Tally(len(done), len(failed), leased=len(left))
        return Tally(len(done), len(failed), pending=len(left))

    def ready_at(self, max_attempts: int, backoff_s: float) -> float:
        """When the block's remaining keys may be leased again: after a backoff
        that doubles with each failure of its most-failed key."""
        failures = [run for run in self.runs if run.failed]
        if not failures or backoff_s <= 0:
            return 0.0
        left = set(self.outcome(max_attempts)[2])
        attempts = max(sum(key in run.failed for run in failures) for key in left) if left else 0
        if attempts == 0:
            return 0.0
        delay = min(backoff_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
        return max(run.at for run in failures) + delay

    def givers(self) -> list[str]:
        """Every Giver that has a run counted on this block or holds its lease."""
        ids = {run.giver_id for run in self.runs if run.giver_id}
        if self.lease is not None:
            ids.add(self.lease.giver_id)
        return sorted(ids)

    # Changes ------------------------------------------------------------------

    def leased_to(self, giver_id: str, deadline: float, keys: KeyBlock) -> "Block":
        task_id = f"{self.block_id}.{self.leases}"
        return replace(
            self,
            lease=Lease(task_id, giver_id, deadline, keys),
            leases=self.leases + 1,
            version=self.version + 1,
        )

    def with_deadline(self, deadline: float) -> "Block":
        assert self.lease is not None
        return replace(self, lease=replace(self.lease, deadline=deadline), version=self.version + 1)

    def unleased(self, *, refusal: str | None = None, released: bool = False) -> "Block":
        """Back to the pool. A refusal keeps that Giver off this block; a release
        makes another Giver preferred for it."""
        assert self.lease is not None
        giver_id = self.lease.giver_id
        refused = dict(self.refused)
        if refusal is not None:
            refused[giver_id] = refusal
        shunned = tuple(sorted({*self.shunned, giver_id})) if released else self.shunned
        return replace(self, lease=None, refused=refused, shunned=shunned, version=self.version + 1)

    def counted(self, result: Result, now: float) -> "Block":
        """Count `result`, the answer to the current lease."""
        assert self.lease is not None and self.lease.task_id == result.task_id
        keys = self.lease.keys
        ok = {o.key for o in result.outcomes if o.ok}
        reasons = {o.key: o.reason or "failed" for o in result.outcomes if not o.ok}
        # A run that failed as a whole explains its keys better than their own
        # "no status" does.
        failed = {
            key: short(result.error or reasons.get(key) or "no outcome reported")
            for key in keys
            if key not in ok
        }
        run = Run(result.task_id, result.giver_id, now, keys, failed, result.result_id)
        return self._with_run(run)

    def invalidated_by_giver(self, task_id: str, reason: str, now: float) -> "Block | None":
        """A Giver says its scraper misbehaved on `task_id`: whatever that task
        reported is discarded, its keys go back charged one failed attempt, and the
        Giver is shunned for this block. None if `task_id` is neither the lease nor a
        counted run."""
        reason = short(reason)
        if self.lease is not None and self.lease.task_id == task_id:
            giver_id, keys, runs, kept = self.lease.giver_id, self.lease.keys, self.runs, None
        else:
            run = next((r for r in self.runs if r.task_id == task_id and r.result_id), None)
            if run is None:
                return None
            giver_id, keys, kept = run.giver_id, run.keys, self.lease
            runs = tuple(r for r in self.runs if r is not run)
        charged = Run(task_id, giver_id, now, keys, dict.fromkeys(keys, reason))
        return replace(self, runs=runs)._with_run(charged, lease=kept)

    def failed_for_good(self, reason: str, now: float, max_attempts: int) -> "Block":
        """Fail every remaining key at once, whatever attempts are left (nothing can run it)."""
        keys = self.remaining(max_attempts)
        assert keys is not None
        failed = dict.fromkeys(keys, short(reason))
        run = Run(f"{self.block_id}.final", "", now, keys, failed, final=True)
        return self._with_run(run)

    def holder(self, task_id: str) -> str | None:
        """The Giver holding the lease `task_id`, or None."""
        if self.lease is not None and self.lease.task_id == task_id:
            return self.lease.giver_id
        return None

    def reporter(self, task_id: str) -> str | None:
        """The Giver that holds `task_id` or had its result counted, or None."""
        run = next((r for r in self.runs if r.task_id == task_id and r.result_id), None)
        return run.giver_id if run is not None else self.holder(task_id)

    def invalidated(self, giver_id: str | None = None, since: float = 0.0) -> "Block":
        """Discard counted runs and the lease (everyone's, or one Giver's since `since`);
        their keys go back to the pool and those Givers are shunned for this block."""
        dropped = [
            run
            for run in self.runs
            if (giver_id is None or run.giver_id == giver_id) and run.at >= since
        ]
        lease = self.lease
        if lease is not None and giver_id in (None, lease.giver_id):
            dropped_givers = {lease.giver_id}
            lease = None
        else:
            dropped_givers = set()
        kept = tuple(run for run in self.runs if run not in dropped)
        shunned = set(self.shunned) | dropped_givers | {run.giver_id for run in dropped}
        return replace(
            self, runs=kept, lease=lease, shunned=tuple(sorted(shunned)), version=self.version + 1
        )

    def _with_run(self, run: Run, *, lease: Lease | None = None) -> "Block":
        """Add `run`; the lease is cleared unless another one is kept."""
        shunned = set(self.shunned)
        if run.failed and run.giver_id:
            shunned.add(run.giver_id)
        return replace(
            self,
            runs=(*self.runs, run),
            lease=lease,
            shunned=tuple(sorted(shunned)),
            version=self.version + 1,
        )

    # Storage ------------------------------------------------------------------

    def to_doc(self, max_attempts: int, backoff_s: float) -> dict[str, Any]:
        """The stored document: the block, plus derived fields the store queries on."""
        status = self.status(max_attempts)
        return {
            "block_id": self.block_id,
            "job_id": self.job_id,
            "seq": self.seq,
            "keys": self.keys.to_wire(),
            "runs": [run.to_doc() for run in self.runs],
            "lease": self.lease.to_doc() if self.lease else None,
            "leases": self.leases,
            "refused": self.refused,
            "shunned": list(self.shunned),
            "version": self.version,
            "status": status.value,
            "ready_at": self.ready_at(max_attempts, backoff_s)
            if status is BlockStatus.PENDING
            else 0.0,
            "givers": self.givers(),
        }

    @classmethod
    def from_doc(cls, doc: Any) -> "Block":
        refused = field_of(doc, "refused", dict, "block")
        shunned = field_of(doc, "shunned", list, "block")
        lease = field_of(doc, "lease", (dict, type(None)), "block")
        return cls(
            job_id=field_of(doc, "job_id", str, "block"),
            seq=field_of(doc, "seq", int, "block"),
            keys=KeyBlock.from_wire(field_of(doc, "keys", dict, "block"), "block.keys"),
            runs=tuple(Run.from_doc(r) for r in field_of(doc, "runs", list, "block")),
            lease=Lease.from_doc(lease) if lease is not None else None,
            leases=field_of(doc, "leases", int, "block"),
            refused={str(k): str(v) for k, v in refused.items()},
            shunned=tuple(str(g) for g in shunned),
            version=field_of(doc, "version", int, "block"),
        )


def short(reason: str) -> str:
    """`reason`, cut to MAX_REASON_CHARS."""
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


def block_id(job_id: str, seq: int) -> str:
    return f"{job_id}-{seq:06d}"


def block_id_of_task(task_id: str) -> str:
    """The block a task id (`BLOCK.N`) leases."""
    return task_id.rpartition(".")[0]


def job_id_of_task(task_id: str) -> str:
    """The job of a task id (`JOB-SEQ.N`)."""
    return block_id_of_task(task_id).rpartition("-")[0]
