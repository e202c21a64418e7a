"""A job as the Seeker holds it in memory: its spec, its state and its key tally.

The tally is derived from the job's blocks (exact after a restart: it is
summed from the store) and kept current by every block change. Nothing per
key is held here but the latest keys that failed for good and the latest
refusals, which are stored with the job so they outlive a restart.
"""

import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from channel.store.rows import JobPolicy
from channel.wire.models import KeyBlock, Task
from seeker.work.blocks import Block
from seeker.work.history import Tally
from seeker.work.rate import SlidingCount
from seeker.work.sources import Ranges
from seeker.work.spec import JobSpec

FAILURES_SHOWN = 50
REFUSALS_SHOWN = 20
# A job's rate: keys finished (done or failed for good) over the last minute.
RATE_WINDOW_S = 60.0
RATE_BUCKET_S = 1.0
# A job's recent failures: keys failed for good over the last hour.
FAILED_WINDOW_S = 3600.0
FAILED_BUCKET_S = 60.0


def _failed_count() -> SlidingCount:
    """Keys failed for good in the last hour, in one-minute buckets of wall-clock time
    (the time of the runs that failed them), so they can be stored and counted again."""
    return SlidingCount(FAILED_WINDOW_S, FAILED_BUCKET_S, time.time)


class JobStatus(StrEnum):
    CREATING = "creating"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Failure:
    """A key that failed for good, why, and when (the time of the block's run
    that failed it, wall clock)."""

    block_id: str
    key: str
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """A Giver refused a task of the job, and said why."""

    giver_id: str
    task_id: str
    reason: str
    at: float


@dataclass(slots=True)
class Job:
    """A job and its state. A sealed job (its spec names a recipient) holds the
    `agreement_key` its Givers key the comparison of copies with: stored with the
    job (and in its state dump), sent in its tasks, never in its view."""

    job_id: str
    spec: JobSpec
    total: int
    block_count: int
    priority: int
    status: JobStatus = JobStatus.CREATING
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    duplicates: int = 0
    unusable: int = 0
    tally: Tally = field(default_factory=Tally)
    next_seq: int = 0
    failures: deque[Failure] = field(default_factory=lambda: deque(maxlen=FAILURES_SHOWN))
    refusals: deque[Refusal] = field(default_factory=lambda: deque(maxlen=REFUSALS_SHOWN))
    # Keys failed for good within the last hour, by the wall clock of their runs.
    failed_recently: SlidingCount = field(
        default_factory=_failed_count,
        compare=False,
        repr=False,
    )
    agreement_key: str = ""
    # The Channels its results were counted in, oldest first, each named by its
    # store (channel.store.factory.store_name): one, unless the job moved to
    # another Seeker or its Seeker to another store.
    channels: tuple[str, ...] = ()
    # How far the job's results were read in each Channel, by store name: the
    # number of the last result stored there that was counted or can never count
    # (seeker.grid.collect).
    result_cursors: dict[str, int] = field(default_factory=dict)
    # A job that takes discovered keys: its blocks cut at creation, and the keys
    # added since (they go in blocks after those).
    seed_blocks: int = 0
    discovered: int = 0
    # Since this Seeker loaded the job, in memory only.
    finished: SlidingCount = field(
        default_factory=lambda: SlidingCount(RATE_WINDOW_S, RATE_BUCKET_S),
        compare=False,
        repr=False,
    )

    @staticmethod
    def new_id() -> str:
        return "j" + uuid.uuid4().hex[:12]

    @property
    def ranges(self) -> Ranges | None:
        """The job's ranges when its blocks are cut from them as they are leased."""
        return self.spec.source if isinstance(self.spec.source, Ranges) else None

    @property
    def open(self) -> bool:
        """Whether the job may still lease blocks (now or after a resume)."""
        return self.status in (JobStatus.RUNNING, JobStatus.PAUSED)

    @property
    def channel_policy(self) -> JobPolicy:
        """What the Channel must know to take the job's results."""
        return JobPolicy(
            self.job_id, retention_s=self.spec.retention_s, sealed=bool(self.spec.recipient)
        )

    def task(self, task_id: str, keys: KeyBlock, image: str) -> Task:
        """Task `task_id` of this job over `keys`, run by `image`: what its Giver gets."""
        spec = self.spec
        return Task(
            task_id=task_id,
            job_id=self.job_id,
            image=image,
            settings=spec.settings,
            block=keys,
            network=spec.network,
            limits=spec.limits,
            seal_to=spec.recipient,
            agreement_key=self.agreement_key,
            # Only a sealed job's Givers compare records themselves.
            ignore_fields=spec.redundancy.ignore_fields if spec.recipient else (),
            captures=spec.captures,
            discover=spec.discover,
        )

    def unit(self, block: Block) -> Tally:
        return block.tally(self.spec.max_attempts)

    def changed(self, old: Block, new: Block) -> int:
        """Account for a block going from `old` to `new`: its keys that finished count
        towards the rate, and those newly failed for good are noted. How many keys
        finished (fewer than none if some were reopened)."""
        was, now = self.unit(old), self.unit(new)
        self.tally = self.tally - was + now
        finished = now.done + now.failed - was.done - was.failed
        self.finished.add(finished)
        if now.failed > was.failed:
            at = max(run.at for run in new.runs)
            self.failed_recently.add(now.failed - was.failed, at)
            before = set(old.outcome(self.spec.max_attempts)[1])
            for key, reason in new.outcome(self.spec.max_attempts)[1].items():
                if key not in before:
                    self.failures.append(Failure(new.block_id, key, reason, at))
        return finished

    def forget_failures(self) -> None:
        """Drop the keys noted as failed, to note them anew (`recall_failures`)."""
        self.failures.clear()
        self.failed_recently = _failed_count()

    def recall_failures(self, block: Block) -> None:
        """Note the keys of `block` that failed for good, as a restart finds them:
        counted in the last hour by their runs' time, the latest kept to show."""
        failed = block.outcome(self.spec.max_attempts)[1]
        if not failed:
            return
        at = max(run.at for run in block.runs)
        self.failed_recently.add(len(failed), at)
        latest = [*self.failures, *(Failure(block.block_id, k, r, at) for k, r in failed.items())]
        latest.sort(key=lambda f: f.at)
        self.failures.clear()
        self.failures.extend(latest[-FAILURES_SHOWN:])

    def settle(self, now: float) -> bool:
        """Mark the job done once no key is pending or leased; reopen it if one is
        again. Whether its status changed."""
        left = self.tally.pending + self.tally.leased
        if self.status is JobStatus.RUNNING and left == 0:
            self.status, self.finished_at = JobStatus.DONE, now
            return True
        if self.status is JobStatus.DONE and left > 0:
            self.status, self.finished_at = JobStatus.RUNNING, None
            return True
        return False

    def counts(self) -> dict[str, int]:
        """Keys by state; they always add up to the job's total."""
        t = self.tally
        return {
            "total": self.total,
            "done": t.done,
            "failed": t.failed,
            "leased": t.leased,
            "pending": t.pending,
        }

    def eta_s(self, rate_keys_per_s: float) -> float | None:
        """Seconds until the keys left finish at `rate_keys_per_s`; None unless the job
        is running, has keys left and finished some lately."""
        left = self.tally.pending + self.tally.leased
        if self.status is not JobStatus.RUNNING or left == 0 or rate_keys_per_s <= 0:
            return None
        return left / rate_keys_per_s

    def pace(self) -> dict[str, float | None]:
        """How fast the job goes: keys finished a second over the last minute, and
        the seconds its keys left will take at that rate (None when it has no ETA)."""
        rate = self.finished.per_s()
        eta_s = self.eta_s(rate)
        return {
            "rate_keys_per_s": round(rate, 3),
            "eta_s": None if eta_s is None else round(eta_s, 1),
        }

    def to_doc(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "spec": self.spec.to_wire(),
            "total": self.total,
            "blocks": self.block_count,
            "priority": self.priority,
            "status": self.status.value,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "duplicates": self.duplicates,
            "unusable": self.unusable,
            "tally": self.counts(),
            **({"agreement_key": self.agreement_key} if self.agreement_key else {}),
            **({"channels": list(self.channels)} if self.channels else {}),
            **({"result_cursors": dict(self.result_cursors)} if self.result_cursors else {}),
            **(
                {"seed_blocks": self.seed_blocks, "discovered": self.discovered}
                if self.spec.discover
                else {}
            ),
            "failures": [asdict(f) for f in self.failures],
            "failed_recently": [list(bucket) for bucket in self.failed_recently.recent()],
            "refusals": [asdict(r) for r in self.refusals],
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Job":
        tally = doc["tally"]
        job = cls(
            job_id=doc["job_id"],
            spec=JobSpec.from_wire(doc["spec"]),
            total=doc["total"],
            block_count=doc["blocks"],
            priority=doc["priority"],
            status=JobStatus(doc["status"]),
            created_at=doc["created_at"],
            finished_at=doc["finished_at"],
            duplicates=doc["duplicates"],
            unusable=doc["unusable"],
            tally=Tally(tally["done"], tally["failed"], tally["leased"], tally["pending"]),
            agreement_key=doc.get("agreement_key", ""),
            channels=tuple(doc.get("channels", ())),
            result_cursors=dict(doc.get("result_cursors", {})),
            seed_blocks=doc.get("seed_blocks", doc["blocks"]),
            discovered=doc.get("discovered", 0),
        )
        job.failures.extend(Failure(**f) for f in doc.get("failures", ()))
        for at, n in doc.get("failed_recently", ()):
            job.failed_recently.add(n, at)
        job.refusals.extend(Refusal(**r) for r in doc.get("refusals", ()))
        if bool(job.spec.recipient) != bool(job.agreement_key):
            raise ValueError(
                f"job {job.job_id}: a sealed job has an agreement key, and only a sealed job"
            )
        return job

    def view(self) -> dict[str, Any]:
        """The job as the API shows it."""
        return {
            "job_id": self.job_id,
            "name": self.spec.name,
            "image": self.spec.image_names,
            "status": self.status.value,
            "priority": self.priority,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "keys": self.counts(),
            "blocks": self.block_count,
            "duplicates_dropped": self.duplicates,
            "unusable_values": self.unusable,
            **({"discovered": self.discovered} if self.spec.discover else {}),
            "spec": self.spec.to_wire(),
            **self.pace(),
            "failed_last_hour": self.failed_recently.count(),
            "failures": [asdict(f) for f in self.failures],
            **({"refusals": [asdict(r) for r in self.refusals]} if self.refusals else {}),
        }
