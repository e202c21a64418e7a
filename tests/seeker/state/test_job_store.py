"""The state store's job queries on every backend: the jobs a leader holds (not
finished, or finished since a time), pages of jobs newest first (jobs created at
the same time ordered by id, none skipped or repeated), counts by status, and a
job's status and finish time following its every write."""

from typing import Any

from seeker.state.base import StateStore


def job_doc(job_id: str, created_at: float, status: str, finished_at: float | None) -> Any:
    return {
        "job_id": job_id,
        "created_at": created_at,
        "status": status,
        "finished_at": finished_at,
        "note": f"the job {job_id}",
    }


JOBS = [
    job_doc("ja", 10.0, "done", 20.0),
    job_doc("jb", 11.0, "cancelled", 50.0),
    job_doc("jc", 11.0, "running", None),
    job_doc("jd", 11.0, "done", 60.0),
    job_doc("je", 12.0, "paused", None),
    job_doc("jf", 13.0, "creating", None),
]


async def test_the_jobs_held_are_those_not_finished_or_finished_lately(
    state_store: StateStore,
) -> None:
    for doc in JOBS:
        await state_store.put_job(doc)
    held = await state_store.held_jobs(50.0)
    assert [doc["job_id"] for doc in held] == ["jb", "jc", "jd", "je", "jf"]
    assert held[0] == JOBS[1]
    assert [doc["job_id"] for doc in await state_store.held_jobs(61.0)] == ["jc", "je", "jf"]
    assert await state_store.job("jd") == JOBS[3]
    assert await state_store.job("jz") is None


async def test_pages_of_jobs_go_newest_first_and_miss_none(state_store: StateStore) -> None:
    for doc in JOBS:
        await state_store.put_job(doc)
    seen, before = [], None
    while page := await state_store.jobs_page(before, 2):
        seen += [doc["job_id"] for doc in page]
        before = (page[-1]["created_at"], page[-1]["job_id"])
    assert seen == ["jf", "je", "jd", "jc", "jb", "ja"]


async def test_counts_by_status_follow_each_write_and_deletion(state_store: StateStore) -> None:
    for doc in JOBS:
        await state_store.put_job(doc)
    assert [await state_store.count_jobs(s) for s in ("done", "running", "paused")] == [2, 1, 1]
    await state_store.put_job(job_doc("jc", 11.0, "done", 70.0))
    await state_store.delete_job("ja")
    assert [await state_store.count_jobs(s) for s in ("done", "running")] == [2, 0]
    assert [doc["job_id"] for doc in await state_store.held_jobs(65.0)] == ["jc", "je", "jf"]
