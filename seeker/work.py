"""Jobs, their tasks and the leases on them: the Seeker's bookkeeping.

Pure logic with the clock passed in, so every rule here is tested without
waiting. A task is pending, leased to one Giver until a deadline, done, or
failed; a result counts only when it comes from the Giver holding the lease.
"""

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from channel.models import Result, Task
from seeker.spec import JobSpec

MAX_FAILURES_SHOWN = 50


class TaskStatus(StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    DONE = "done"
    FAILED = "failed"


@dataclass(slots=True)
class Lease:
    """A Giver's claim on a task until `deadline` (monotonic seconds)."""

    giver_id: str
    deadline: float


@dataclass(slots=True)
class TaskState:
    task: Task
    status: TaskStatus = TaskStatus.PENDING
    lease: Lease | None = None
    refused_by: dict[str, str] = field(default_factory=dict)
    progress: int = 0
    done_keys: int = 0
    failed_keys: int = 0
    result_id: str | None = None
    reason: str | None = None

    @property
    def key_count(self) -> int:
        return len(self.task.block)


@dataclass(frozen=True, slots=True)
class Failure:
    """A key, or a whole task, that failed and why."""

    task_id: str
    key: str | None
    reason: str


class Job:
    """One submitted job: its spec and the tasks it was cut into."""

    def __init__(self, spec: JobSpec, *, job_id: str | None = None) -> None:
        self.job_id = job_id or "j" + uuid.uuid4().hex[:12]
        self.spec = spec
        self.created_at = time.time()
        self.finished_at: float | None = None
        self.failures: list[Failure] = []
        self.tasks: dict[str, TaskState] = {}
        for index, block in enumerate(spec.blocks()):
            task_id = f"{self.job_id}-{index:05d}"
            self.tasks[task_id] = TaskState(
                Task(
                    task_id=task_id,
                    job_id=self.job_id,
                    image=spec.image,
                    settings=spec.settings,
                    block=block,
                    network=spec.network,
                    limits=spec.limits,
                )
            )

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def pending(self) -> Iterator[TaskState]:
        return (t for t in self.tasks.values() if t.status is TaskStatus.PENDING)

    def leased(self) -> Iterator[TaskState]:
        return (t for t in self.tasks.values() if t.status is TaskStatus.LEASED)

    def lease(self, task_id: str, giver_id: str, now: float, grace_s: float) -> Task:
        """Lease a pending task to `giver_id` for its timeout plus `grace_s`."""
        state = self.tasks[task_id]
        assert state.status is TaskStatus.PENDING, f"task {task_id} is {state.status}"
        state.status = TaskStatus.LEASED
        state.lease = Lease(giver_id, now + state.task.limits.timeout_s + grace_s)
        state.progress = 0
        return state.task

    def renew(self, task_id: str, giver_id: str, done: int, now: float, grace_s: float) -> None:
        """Progress from the lease holder: record it and keep the lease alive."""
        state = self.tasks.get(task_id)
        if state is None or state.lease is None or state.lease.giver_id != giver_id:
            return
        state.progress = min(done, state.key_count)
        state.lease.deadline = max(state.lease.deadline, now + grace_s)

    def release(self, task_id: str, giver_id: str, refusal: str | None = None) -> None:
        """Return a task leased to `giver_id` to the pool, noting a refusal."""
        state = self.tasks.get(task_id)
        if state is None or state.lease is None or state.lease.giver_id != giver_id:
            return
        state.status, state.lease, state.progress = TaskStatus.PENDING, None, 0
        if refusal is not None:
            state.refused_by[giver_id] = refusal

    def fail_refused(self, task_id: str) -> None:
        """Fail a pending task that every available Giver refused."""
        state = self.tasks[task_id]
        reasons = "; ".join(f"{g}: {r}" for g, r in sorted(state.refused_by.items()))
        self._fail_task(state, f"refused by every Giver ({reasons})")

    def expire(self, now: float) -> list[str]:
        """Return lapsed leases' tasks to the pool; the ids of those tasks."""
        lapsed = [t for t in self.leased() if t.lease is not None and t.lease.deadline <= now]
        for state in lapsed:
            state.status, state.lease, state.progress = TaskStatus.PENDING, None, 0
        return [t.task.task_id for t in lapsed]

    def apply_result(self, result: Result) -> bool:
        """Count `result` if it answers a live lease; whether it was counted."""
        state = self.tasks.get(result.task_id)
        if (
            state is None
            or state.status is not TaskStatus.LEASED
            or state.lease is None
            or state.lease.giver_id != result.giver_id
        ):
            return False
        stray = next((r["key"] for r in result.records if r["key"] not in state.task.block), None)
        if result.job_id != self.job_id or stray is not None:
            self._fail_task(
                state,
                f"result {result.result_id} from giver {result.giver_id} "
                f"claims {'key ' + repr(stray) if stray else 'job ' + result.job_id}"
                " outside its task; discarded",
            )
            return True
        ok = {o.key for o in result.outcomes if o.ok}
        reasons = {o.key: o.reason or "failed" for o in result.outcomes if not o.ok}
        state.done_keys = sum(1 for key in state.task.block if key in ok)
        state.failed_keys = state.key_count - state.done_keys
        state.result_id, state.lease, state.progress = result.result_id, None, 0
        if result.error is not None:
            state.reason = result.error
            self._note(Failure(state.task.task_id, None, result.error))
        for key, reason in reasons.items():
            self._note(Failure(state.task.task_id, key, reason))
        state.status = TaskStatus.FAILED if result.error is not None else TaskStatus.DONE
        self._finish_if_complete()
        return True

    def _fail_task(self, state: TaskState, reason: str) -> None:
        state.status, state.lease, state.reason = TaskStatus.FAILED, None, reason
        state.done_keys, state.failed_keys = 0, state.key_count
        self._note(Failure(state.task.task_id, None, reason))
        self._finish_if_complete()

    def _note(self, failure: Failure) -> None:
        if len(self.failures) < MAX_FAILURES_SHOWN:
            self.failures.append(failure)

    def _finish_if_complete(self) -> None:
        if all(t.status in (TaskStatus.DONE, TaskStatus.FAILED) for t in self.tasks.values()):
            self.finished_at = time.time()

    def counts(self) -> dict[str, int]:
        """Keys by state; they always add up to the job's total."""
        counts = dict.fromkeys(("done", "failed", "leased", "pending"), 0)
        for state in self.tasks.values():
            if state.status is TaskStatus.LEASED:
                counts["leased"] += state.key_count
            elif state.status is TaskStatus.PENDING:
                counts["pending"] += state.key_count
            else:
                counts["done"] += state.done_keys
                counts["failed"] += state.failed_keys
        return {"total": len(self.spec.keys), **counts}

    def view(self) -> dict[str, Any]:
        """The job as the API shows it."""
        tasks = dict.fromkeys((s.value for s in TaskStatus), 0)
        for state in self.tasks.values():
            tasks[state.status.value] += 1
        return {
            "job_id": self.job_id,
            "name": self.spec.name,
            "image": self.spec.image,
            "status": "done" if self.finished else "running",
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "keys": self.counts(),
            "tasks": {"total": len(self.tasks), **tasks},
            "failures": [
                {"task_id": f.task_id, "key": f.key, "reason": f.reason} for f in self.failures
            ],
        }
