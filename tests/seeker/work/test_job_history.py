"""Finished jobs on every state store backend: they leave the leader's memory an hour
after they end and are read back from the store with the same view and records,
across a restart too; a done or cancelled job is deleted with its blocks and its
results in the Channel (unless its retention keeps them), a deletion cut short
is finished by asking again, and a running or unknown job is refused with
nothing deleted."""

from typing import Any

import pytest
from support.rig import GRACE_S, NOW, Rig

from seeker.errors import JobConflict, UnknownJob
from seeker.work.jobs import Job, JobStatus
from seeker.work.ledger import HELD_AFTER_FINISH_S
from seeker.work.manager import KeyManager

LATER = NOW + HELD_AFTER_FINISH_S + 1


def lasting(job: Job) -> dict[str, Any]:
    """The job's view but its rate and ETA, which fade a minute after it finished
    (long before it leaves memory), while the clock the test passes stands still."""
    view = job.view()
    del view["rate_keys_per_s"], view["eta_s"]
    return view


async def records(rig: Rig, job_id: str) -> list[dict[str, Any]]:
    return [
        record async for result in rig.keys.counted_results(job_id) for record in result.records
    ]


async def done_job(rig: Rig, **body: Any) -> Job:
    job = await rig.job(keys=["a", "b", "c", "d"], block_size=2, **body)
    await rig.complete(job, "A")
    await rig.complete(job, "B")
    assert job.status is JobStatus.DONE
    return job


async def test_a_finished_job_leaves_memory_after_an_hour_and_loads_the_same(rig: Rig) -> None:
    job = await done_job(rig)
    running = await rig.job(keys=["x"])
    view, exported = lasting(job), await records(rig, job.job_id)
    assert job.finished_at is not None

    rig.keys.unload_finished(job.finished_at + HELD_AFTER_FINISH_S - 1)
    assert job.job_id in rig.keys.jobs
    rig.keys.unload_finished(job.finished_at + HELD_AFTER_FINISH_S)
    assert set(rig.keys.jobs) == {running.job_id}
    assert rig.keys.job_counts()[JobStatus.DONE] == 1
    assert rig.keys.job_counts()[JobStatus.RUNNING] == 1

    loaded = await rig.keys.job(job.job_id)
    assert loaded is not job and lasting(loaded) == view
    assert loaded.view()["rate_keys_per_s"] == 0.0
    assert await records(rig, job.job_id) == exported
    assert job.job_id not in rig.keys.jobs

    restarted = KeyManager(rig.keys.store, rig.channel, lease_grace_s=GRACE_S)
    await restarted.load(LATER)
    assert set(restarted.jobs) == {running.job_id}
    assert restarted.job_counts()[JobStatus.DONE] == 1
    assert lasting(await restarted.job(job.job_id)) == view


async def test_a_finished_job_read_from_the_store_is_held_again_once_reopened(rig: Rig) -> None:
    job = await done_job(rig)
    rig.keys.unload_finished(LATER)
    await rig.keys.invalidate_block(job.job_id, 1, LATER)
    reopened = rig.keys.jobs[job.job_id]
    assert reopened.status is JobStatus.RUNNING and reopened.counts()["pending"] == 2
    assert rig.keys.job_counts()[JobStatus.DONE] == 0
    await rig.complete(reopened, "C", LATER)
    assert reopened.status is JobStatus.DONE


async def test_a_done_job_is_deleted_with_its_blocks_and_its_results(rig: Rig) -> None:
    job = await done_job(rig)
    task_ids = [run.task_id async for block in rig.keys.blocks(job.job_id) for run in block.runs]
    assert len(await rig.channel.results_for_tasks(task_ids)) == 2

    deleted = await rig.keys.delete(job.job_id)
    assert deleted.job_id == job.job_id
    assert await rig.keys.store.job(job.job_id) is None
    assert await rig.keys.store.job_blocks(job.job_id, -1, 10) == []
    assert await rig.channel.results_for_tasks(task_ids) == []
    assert await rig.channel.job(job.job_id) is None
    assert job.job_id not in rig.keys.jobs and rig.keys.job_counts()[JobStatus.DONE] == 0
    with pytest.raises(UnknownJob):
        await rig.keys.job(job.job_id)
    with pytest.raises(UnknownJob):
        await rig.keys.delete(job.job_id)


async def test_a_job_long_finished_is_deleted_from_the_store_alone(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b"])
    await rig.keys.set_status(job.job_id, JobStatus.CANCELLED, NOW)
    rig.keys.unload_finished(LATER)
    assert rig.keys.job_counts()[JobStatus.CANCELLED] == 1
    await rig.keys.delete(job.job_id)
    assert rig.keys.job_counts()[JobStatus.CANCELLED] == 0
    assert await rig.keys.store.count_jobs(JobStatus.CANCELLED.value) == 0


async def test_a_deletion_cut_short_after_the_channel_is_finished_by_asking_again(
    rig: Rig,
) -> None:
    job = await done_job(rig)
    # As a Seeker stopped between the two stores leaves it.
    await rig.channel.delete_job(job.job_id)
    assert (await rig.keys.job(job.job_id)).status is JobStatus.DONE
    await rig.keys.delete(job.job_id)
    assert await rig.keys.store.job(job.job_id) is None


async def test_the_results_of_a_job_with_a_retention_stay_until_it_ends(rig: Rig) -> None:
    job = await done_job(rig, retention_days=30)
    exported = await records(rig, job.job_id)
    task_ids = [run.task_id async for block in rig.keys.blocks(job.job_id) for run in block.runs]
    await rig.keys.delete(job.job_id)
    assert await rig.keys.store.job(job.job_id) is None
    kept = await rig.channel.results_for_tasks(task_ids)
    assert sorted(r["key"] for result in kept for r in result.records) == sorted(
        r["key"] for r in exported
    )
    assert await rig.channel.job(job.job_id) is not None


@pytest.mark.parametrize("status", [JobStatus.RUNNING, JobStatus.PAUSED])
async def test_a_job_not_finished_is_not_deleted(rig: Rig, status: JobStatus) -> None:
    job = await rig.job(keys=["a", "b"], block_size=1)
    await rig.complete(job, "A")
    await rig.keys.set_status(job.job_id, status, NOW)
    exported = await records(rig, job.job_id)
    with pytest.raises(JobConflict) as refused:
        await rig.keys.delete(job.job_id)
    assert str(refused.value) == (
        f"job {job.job_id} is {status.value}; only a done or cancelled job can be deleted: "
        f"cancel it first (seeker cancel {job.job_id})"
    )
    assert rig.keys.jobs[job.job_id] is job
    assert await rig.keys.store.job(job.job_id) is not None
    assert len(await rig.keys.store.job_blocks(job.job_id, -1, 10)) == 2
    assert await records(rig, job.job_id) == exported != []


async def test_an_unknown_job_is_not_deleted(rig: Rig) -> None:
    await done_job(rig)
    with pytest.raises(UnknownJob, match="jnothere"):
        await rig.keys.delete("jnothere")
    assert rig.keys.job_counts()[JobStatus.DONE] == 1
