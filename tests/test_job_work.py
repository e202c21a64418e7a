"""Leases and results: the Seeker's bookkeeping, with the clock passed in."""

import dataclasses

from channel.models import KeyBlock, KeyOutcome, Result
from seeker.spec import parse_job
from seeker.work import Job, TaskStatus

GRACE_S = 10.0


def make_job(**overrides: object) -> Job:
    body = {
        "image": "x:1",
        "range": [0, 10],
        "block_size": 5,
        "limits": {"timeout_s": 100},
        **overrides,
    }
    return Job(parse_job(body))


def result_for(
    job: Job, task_id: str, giver_id: str, ok_keys: list[str], error: str | None = None
) -> Result:
    keys = list(job.tasks[task_id].task.block)
    return Result(
        result_id=f"r-{task_id}-{giver_id}",
        task_id=task_id,
        job_id=job.job_id,
        giver_id=giver_id,
        records=[],
        outcomes=[KeyOutcome(k, k in ok_keys, None if k in ok_keys else "boom") for k in keys],
        error=error,
        started_at=0.0,
        finished_at=1.0,
    )


def test_counts_follow_leases_and_results() -> None:
    job = make_job()
    first, second = job.tasks
    assert job.counts() == {"total": 10, "done": 0, "failed": 0, "leased": 0, "pending": 10}
    job.lease(first, "g1", now=0.0, grace_s=GRACE_S)
    assert job.counts()["leased"] == 5
    assert job.apply_result(result_for(job, first, "g1", ["0", "1", "2", "3"]))
    assert job.counts() == {"total": 10, "done": 4, "failed": 1, "leased": 0, "pending": 5}
    assert [(f.key, f.reason) for f in job.failures] == [("4", "boom")]
    assert not job.finished
    job.lease(second, "g2", now=0.0, grace_s=GRACE_S)
    job.apply_result(result_for(job, second, "g2", list("56789")))
    assert job.finished and job.view()["status"] == "done"


def test_result_from_a_giver_without_the_lease_is_not_counted() -> None:
    job = make_job()
    task_id = next(iter(job.tasks))
    assert not job.apply_result(result_for(job, task_id, "g1", ["0"]))
    job.lease(task_id, "g1", now=0.0, grace_s=GRACE_S)
    assert not job.apply_result(result_for(job, task_id, "g2", ["0"]))
    assert job.tasks[task_id].status is TaskStatus.LEASED


def test_lapsed_lease_returns_the_task_and_progress_extends_it() -> None:
    job = make_job()
    task_id = next(iter(job.tasks))
    job.lease(task_id, "g1", now=0.0, grace_s=GRACE_S)
    assert job.expire(now=109.0) == []
    job.renew(task_id, "g1", done=3, now=105.0, grace_s=GRACE_S)
    assert job.tasks[task_id].progress == 3
    assert job.expire(now=112.0) == []
    assert job.expire(now=115.0) == [task_id]
    assert job.tasks[task_id].status is TaskStatus.PENDING
    assert not job.apply_result(result_for(job, task_id, "g1", ["0"]))


def test_task_error_fails_the_task_but_keeps_keys_done_before_it() -> None:
    job = make_job()
    task_id = next(iter(job.tasks))
    job.lease(task_id, "g1", now=0.0, grace_s=GRACE_S)
    job.apply_result(result_for(job, task_id, "g1", ["0", "1"], error="timed out after 5 s"))
    state = job.tasks[task_id]
    assert (state.status, state.done_keys, state.failed_keys) == (TaskStatus.FAILED, 2, 3)
    assert job.failures[0].reason == "timed out after 5 s"


def test_refusals_release_and_refused_by_all_fails() -> None:
    job = make_job()
    task_id = next(iter(job.tasks))
    job.lease(task_id, "g1", now=0.0, grace_s=GRACE_S)
    job.release(task_id, "g2", refusal="not mine")
    assert job.tasks[task_id].status is TaskStatus.LEASED
    job.release(task_id, "g1", refusal="contract 9 unknown")
    assert job.tasks[task_id].refused_by == {"g1": "contract 9 unknown"}
    job.fail_refused(task_id)
    assert job.tasks[task_id].status is TaskStatus.FAILED
    assert "g1: contract 9 unknown" in job.failures[0].reason
    assert job.counts()["failed"] == 5


def test_result_claiming_keys_outside_its_block_fails_the_task() -> None:
    job = make_job()
    first, second = job.tasks
    job.lease(first, "g1", now=0.0, grace_s=GRACE_S)
    job.lease(second, "g1", now=0.0, grace_s=GRACE_S)
    stray = result_for(job, first, "g1", ["0"])
    stray.records.append({"key": "7", "data": {}})
    assert job.apply_result(stray)
    assert job.tasks[first].status is TaskStatus.FAILED
    assert "claims key '7' outside its task" in job.failures[0].reason
    other_job = dataclasses.replace(result_for(job, second, "g1", ["5"]), job_id="jother")
    job.apply_result(other_job)
    assert "claims job jother" in job.failures[1].reason
    assert job.counts()["done"] == 0


def test_key_blocks_know_their_keys() -> None:
    block = KeyBlock(start=5, stop=8)
    assert [k in block for k in ("4", "5", "7", "8", "05", "+6", "x", "")] == [
        False,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert "b" in KeyBlock(keys=("a", "b")) and "c" not in KeyBlock(keys=("a", "b"))
