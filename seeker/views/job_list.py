"""The jobs, a page at a time, newest first, as the API and the jobs page list
them: read from the state store, so a page costs what it shows however many
jobs history holds. A job the leader holds is shown as it holds it (its live
rate and leases); another as the store holds it, which is how the leader held
it when it let it go."""

from dataclasses import dataclass

from seeker.views.paging import next_job_cursor
from seeker.work.jobs import Job
from seeker.work.ledger import Ledger


@dataclass(frozen=True, slots=True)
class JobPage:
    """A page of jobs, newest first, and the cursor of the next (None after the last)."""

    jobs: list[Job]
    next: str | None


async def jobs_page(keys: Ledger, after: tuple[float, str] | None, limit: int) -> JobPage:
    """The `limit` jobs created before the job `after` names (or the newest)."""
    docs = await keys.store.jobs_page(after, limit)
    jobs = [keys.jobs.get(doc["job_id"]) or Job.from_doc(doc) for doc in docs]
    last = jobs[-1] if len(jobs) == limit else None
    return JobPage(jobs, None if last is None else next_job_cursor(last.created_at, last.job_id))
