"""Counting one result on its block: the change it makes (the result counted, or
discarded for claiming keys outside its task or for not being sealed as its job
requires) and what that settled, for the key manager (seeker.work.manager) to
store and act on."""

from dataclasses import dataclass

from channel.wire.results import Result
from seeker.work.blocks import Block
from seeker.work.history import Run
from seeker.work.jobs import Job
from seeker.work.ledger import LeaseRef


@dataclass(frozen=True, slots=True)
class Counted:
    """What counting a result settled: the copies no longer wanted (to cancel),
    the results of a round that compared copies, as judged, and whether the result
    itself was discarded (it claimed keys outside its task, or was not sealed as
    its job requires)."""

    cancelled: list[LeaseRef]
    judged: list[Run]
    discarded: bool = False


class Counting:
    """Counting one result on its block, as a change of the block (`__call__`, which
    declines unless the block still holds the result's copy), and what it settled
    (`counted`)."""

    def __init__(
        self,
        job: Job,
        result: Result,
        leases: dict[str, LeaseRef],
        now: float,
        *,
        digest: str,
        misfit: str,
    ) -> None:
        self.job = job
        self._result = result
        self._leases = leases
        self._now = now
        self._digest = digest
        self._misfit = misfit
        self._discarded = False
        # The block's live copies as counting found them: those it ends are cancelled.
        self._siblings: dict[str, LeaseRef] = {}

    def __call__(self, block: Block) -> Block | None:
        result, now = self._result, self._now
        self._siblings = {
            copy.task_id: self._leases[copy.task_id]
            for copy in block.copies
            if copy.task_id in self._leases
        }
        lease = block.copy(result.task_id)
        if lease is None or lease.giver_id != result.giver_id:
            return None
        # A range larger than the result is checked key by key, not spelled out.
        keys = lease.keys
        ranged = keys.start is not None and len(keys) > len(result.records)
        allowed = keys if ranged else set(keys)
        stray = next((r["key"] for r in result.records if r["key"] not in allowed), "")
        why = self._misfit
        if result.job_id != self.job.job_id or stray:
            what = f"key {stray!r}" if stray else f"job {result.job_id}"
            why = f"claims {what} outside its task"
        self._discarded = bool(why)
        if why:
            return block.invalidated_by_giver(
                result.task_id, f"result {result.result_id} {why}; discarded", now
            )
        redundancy = self.job.spec.redundancy
        return block.counted(
            result,
            now,
            digest=self._digest,
            choice=redundancy.choice,
            max_extra=redundancy.max_extra_copies,
        )

    def counted(self, old: Block, new: Block) -> Counted:
        """What counting settled, the block having changed from `old` to `new`."""
        still = {lease.task_id for lease in new.copies}
        cancelled = [
            ref
            for task_id, ref in self._siblings.items()
            if task_id not in still and task_id != self._result.task_id
        ]
        judged = [run for run in new.runs[len(old.runs) :] if run.digest and run.result_id]
        return Counted(cancelled, judged, discarded=self._discarded)


def sealing_misfit(result: Result, sealed: bool) -> str:
    """Why `result` does not fit its job's sealing (records all sealed and an
    agreement, or none sealed), or ""."""
    if sealed and not result.agreement:
        return "has no agreement, though its job is sealed"
    form = "data" if sealed else "sealed"
    odd = next((r["key"] for r in result.records if form in r), None)
    if odd is None:
        return ""
    return (
        f"holds record {odd!r} in the clear, though its job is sealed"
        if sealed
        else f"holds record {odd!r} sealed, though its job is not"
    )
