"""A block of a job's keys and everything that happened to it: pure logic.

A block's whole history lives in one document, so every change to it is one
single-document write that either happens or does not. The block keeps its
keys (a range or a list), the *runs* counted against it (each chosen result,
or each Giver's invalidation, with the keys it covered and the keys that
failed in it) and the current *round*: the copies of its remaining keys out
on Givers and the results they returned that are not yet chosen among.
Everything else (which keys are done, which failed for good, which remain,
whether it waits for a retry) is derived from the runs (in
`seeker.work.history`), so discarding a run is removing it from the list.

A round runs one copy of the block, or several when the job wants replicas
or a slow Giver's copy is doubled near the end of the job; it ends when a
result is chosen (`seeker.work.choice`), or when copies disagree past the job's
limit of extra copies and the round's keys fail for good.

The clock is passed in: wall-clock seconds, since leases outlive a restart.
"""

from dataclasses import dataclass, field, replace
from typing import Any

from channel.wire.models import KeyBlock, field_of
from channel.wire.results import Result
from seeker.work.choice import Choice, Decision, Verdict, decide, disagreement
from seeker.work.history import BlockHistory, BlockStatus, Lease, Role, Round, Run

# A failure reason is kept per key; a longer one (a whole log, say) is cut.
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class Block(BlockHistory):
    """One block of a job: immutable, every change makes a new one with `version + 1`."""

    job_id: str
    seq: int
    keys: KeyBlock
    runs: tuple[Run, ...] = ()
    round: Round | None = None
    copies: tuple[Lease, ...] = ()
    votes: tuple[Run, ...] = ()
    issued: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    # Givers another is preferred to: they failed, released or were invalidated here.
    shunned: tuple[str, ...] = ()
    version: int = 0

    @property
    def block_id(self) -> str:
        return block_id(self.job_id, self.seq)

    @property
    def disputed(self) -> bool:
        """Whether copies of this block disagreed: a result of theirs was rejected,
        or the results of the round under way differ."""
        return any(run.role is Role.REJECTED for run in self.runs) or (
            len({vote.digest for vote in self.votes}) > 1
        )

    @property
    def _dispute_id(self) -> str:
        return f"{self.block_id}.disputed"

    def dispute(self) -> Run | None:
        """The run that failed the keys of a round whose copies could not agree, if
        any (the latest)."""
        return next((run for run in reversed(self.runs) if run.task_id == self._dispute_id), None)

    # Changes ------------------------------------------------------------------

    def leased_to(
        self,
        giver_id: str,
        now: float,
        deadline: float,
        keys: KeyBlock,
        *,
        quorum: int = 1,
        wanted: int = 1,
        tail: bool = False,
    ) -> "Block":
        """Lease a copy to `giver_id`. The first copy opens a round over `keys` that
        wants `wanted` copies, `quorum` of them agreeing; a `tail` copy is one more
        than the round wanted, for a copy already out on a slow Giver."""
        rnd = self.round or Round(keys, quorum=quorum, wanted=wanted)
        if tail:
            rnd = replace(rnd, wanted=rnd.wanted + 1, tailed=True)
        lease = Lease(f"{self.block_id}.{self.issued}", giver_id, deadline, rnd.keys, now)
        return replace(
            self,
            round=rnd,
            copies=(*self.copies, lease),
            issued=self.issued + 1,
            version=self.version + 1,
        )

    def with_deadline(self, task_id: str, deadline: float) -> "Block":
        copies = tuple(
            replace(lease, deadline=deadline) if lease.task_id == task_id else lease
            for lease in self.copies
        )
        return replace(self, copies=copies, version=self.version + 1)

    def unleased(
        self, task_id: str, *, refusal: str | None = None, released: bool = False
    ) -> "Block":
        """Take back copy `task_id`. A refusal keeps that Giver off this block; a
        release makes another Giver preferred for it."""
        lease = self.copy(task_id)
        assert lease is not None
        refused = dict(self.refused)
        if refusal is not None:
            refused[lease.giver_id] = refusal
        shunned = tuple(sorted({*self.shunned, lease.giver_id})) if released else self.shunned
        return replace(
            self,
            copies=tuple(c for c in self.copies if c is not lease),
            refused=refused,
            shunned=shunned,
            version=self.version + 1,
        )._tidied()

    def unleased_all(self) -> "Block":
        """Take back every copy (the job stopped); results in already stay."""
        return replace(self, copies=(), version=self.version + 1)._tidied()

    def counted(
        self,
        result: Result,
        now: float,
        *,
        digest: str = "",
        choice: Choice = Choice.MAJORITY,
        max_extra: int = 0,
    ) -> "Block":
        """Count `result`, the answer to copy `result.task_id`, then choose among the
        round's results if that settles it."""
        lease = self.copy(result.task_id)
        assert lease is not None
        keys = lease.keys
        ok = {o.key for o in result.outcomes if o.ok}
        reasons = {o.key: o.reason or "failed" for o in result.outcomes if not o.ok}
        # A run that failed as a whole explains its keys better than their own
        # "no status" does.
        failed = {
            key: short(result.error or reasons.get(key) or "no outcome reported")
            for key in keys
            if key not in ok
        }
        vote = Run(
            result.task_id, result.giver_id, now, keys, failed, result.result_id, digest=digest
        )
        voted = replace(
            self,
            copies=tuple(c for c in self.copies if c is not lease),
            votes=(*self.votes, vote),
        )
        return voted._settled(now, choice, max_extra)

    def _settled(self, now: float, choice: Choice, max_extra: int) -> "Block":
        rnd = self.round
        assert rnd is not None
        outstanding = rnd.wanted - len(self.votes)
        decision = decide([v.vote for v in self.votes], outstanding, rnd.quorum, choice)
        if decision.verdict is Verdict.CHOSEN:
            return self._chosen(decision)
        if decision.verdict is Verdict.STUCK and rnd.extra < max_extra:
            rnd = replace(rnd, wanted=rnd.wanted + 1, extra=rnd.extra + 1)
            return replace(self, round=rnd, version=self.version + 1)
        if decision.verdict is Verdict.STUCK:
            reason = disagreement([(v.giver_id, v.digest) for v in self.votes])
            rejected = tuple(replace(v, role=Role.REJECTED) for v in self.votes)
            final = Run(
                self._dispute_id,
                "",
                now,
                rnd.keys,
                dict.fromkeys(rnd.keys, short(f"{reason}; no quorum of {rnd.quorum}")),
                final=True,
            )
            return replace(
                self,
                runs=(*self.runs, *rejected, final),
                round=None,
                copies=(),
                votes=(),
                version=self.version + 1,
            )
        return replace(self, version=self.version + 1)

    def _chosen(self, decision: Decision) -> "Block":
        """End the round on its winning result; copies still out are no longer wanted."""
        runs = list(self.runs)
        for i, vote in enumerate(self.votes):
            if i == decision.winner:
                runs.append(vote)
            else:
                role = Role.AGREED if i in decision.agreeing else Role.REJECTED
                runs.append(replace(vote, role=role))
        winner = self.votes[decision.winner]
        shunned = set(self.shunned)
        if winner.failed:
            shunned.add(winner.giver_id)
        return replace(
            self,
            runs=tuple(runs),
            round=None,
            copies=(),
            votes=(),
            shunned=tuple(sorted(shunned)),
            version=self.version + 1,
        )

    def invalidated_by_giver(self, task_id: str, reason: str, now: float) -> "Block | None":
        """A Giver says its scraper misbehaved on `task_id`: whatever that task
        reported is discarded, its keys go back charged one failed attempt, and the
        Giver is shunned for this block. None if `task_id` is not this Giver's copy,
        result in the round, or chosen run."""
        reason = short(reason)
        lease = self.copy(task_id)
        block = self
        if lease is not None:
            giver_id, keys = lease.giver_id, lease.keys
            block = replace(self, copies=tuple(c for c in self.copies if c is not lease))
        else:
            run = next(
                (r for r in (*self.votes, *self.runs) if r.task_id == task_id and r.result_id),
                None,
            )
            if run is None:
                return None
            giver_id, keys = run.giver_id, run.keys
            block = replace(
                self,
                runs=tuple(r for r in self.runs if r is not run),
                votes=tuple(v for v in self.votes if v is not run),
            )
        charged = Run(task_id, giver_id, now, keys, dict.fromkeys(keys, reason))
        return block._with_run(charged)

    def failed_for_good(self, reason: str, now: float, max_attempts: int) -> "Block":
        """Fail every remaining key at once, whatever attempts are left (nothing can run it)."""
        keys = self.remaining(max_attempts)
        assert keys is not None and self.round is None
        failed = dict.fromkeys(keys, short(reason))
        run = Run(f"{self.block_id}.final", "", now, keys, failed, final=True)
        return self._with_run(run)

    def invalidated(self, giver_id: str | None = None, since: float = 0.0) -> "Block":
        """Discard runs, results and copies (everyone's, or one Giver's since `since`);
        their keys go back to the pool and those Givers are shunned for this block."""

        def dropped(run: Run) -> bool:
            return (giver_id is None or run.giver_id == giver_id) and run.at >= since

        gone = [lease for lease in self.copies if giver_id in (None, lease.giver_id)]
        runs = [run for run in (*self.runs, *self.votes) if dropped(run)]
        shunned = set(self.shunned) | {c.giver_id for c in gone} | {r.giver_id for r in runs}
        shunned.discard("")
        return replace(
            self,
            runs=tuple(run for run in self.runs if not dropped(run)),
            votes=tuple(vote for vote in self.votes if not dropped(vote)),
            copies=tuple(c for c in self.copies if c not in gone),
            shunned=tuple(sorted(shunned)),
            version=self.version + 1,
        )._tidied()

    def _with_run(self, run: Run) -> "Block":
        """Add a counted `run` that did not come through a round's choice."""
        shunned = set(self.shunned)
        if run.failed and run.giver_id:
            shunned.add(run.giver_id)
        return replace(
            self, runs=(*self.runs, run), shunned=tuple(sorted(shunned)), version=self.version + 1
        )._tidied()

    def _tidied(self) -> "Block":
        """End a round nothing is left of: no copy out, no result in."""
        if self.round is not None and not self.copies and not self.votes:
            return replace(self, round=None)
        return self

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
            "round": self.round.to_doc() if self.round else None,
            "copies": [lease.to_doc() for lease in self.copies],
            "votes": [vote.to_doc() for vote in self.votes],
            "issued": self.issued,
            "refused": self.refused,
            "shunned": list(self.shunned),
            "version": self.version,
            "status": status.value,
            "ready_at": self.ready_at(max_attempts, backoff_s)
            if status is BlockStatus.PENDING
            else 0.0,
            "givers": self.givers(),
            "disputed": self.disputed,
        }

    @classmethod
    def from_doc(cls, doc: Any) -> "Block":
        refused = field_of(doc, "refused", dict, "block")
        shunned = field_of(doc, "shunned", list, "block")
        rnd = field_of(doc, "round", (dict, type(None)), "block")
        return cls(
            job_id=field_of(doc, "job_id", str, "block"),
            seq=field_of(doc, "seq", int, "block"),
            keys=KeyBlock.from_wire(field_of(doc, "keys", dict, "block"), "block.keys"),
            runs=tuple(Run.from_doc(r) for r in field_of(doc, "runs", list, "block")),
            round=Round.from_doc(rnd) if rnd is not None else None,
            copies=tuple(Lease.from_doc(c) for c in field_of(doc, "copies", list, "block")),
            votes=tuple(Run.from_doc(v) for v in field_of(doc, "votes", list, "block")),
            issued=field_of(doc, "issued", int, "block"),
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
