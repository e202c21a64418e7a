"""The jobs pages: the jobs with their progress, a page at a time, and the
operator's actions on them (pause, resume, cancel, delete, invalidate a
block); one job in detail is seeker.admin.job_detail."""

import time

from aiohttp import web

from seeker.admin.events import FEED
from seeker.admin.flash import act, back_to
from seeker.admin.job_detail import show_job
from seeker.admin.live import job_numbers
from seeker.admin.render import page
from seeker.api.parts import parts
from seeker.grid import actions
from seeker.views.job_list import jobs_page
from seeker.views.paging import job_cursor, page_limit

ACTION_WORDS = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/jobs", list_jobs)
    router.add_get("/jobs/{job_id}", show_job)
    router.add_post("/jobs/{job_id}/{action:pause|resume|cancel}", steer_job)
    router.add_post("/jobs/{job_id}/delete", delete_job)
    router.add_post("/jobs/{job_id}/blocks/{seq}/invalidate", invalidate_block)


async def list_jobs(request: web.Request) -> web.Response:
    """`?after=CURSOR`: a page of the jobs, newest first, read from the store."""
    after, limit = job_cursor(request.query.get("after")), page_limit(request.query.get("limit"))
    shown = await jobs_page(parts(request).coordinator.keys, after, limit)
    return page(
        request,
        "jobs.html",
        section="jobs",
        title="Jobs",
        jobs=[job_numbers(job) for job in shown.jobs],
        images={job.job_id: job.spec.scraper or job.spec.image_names for job in shown.jobs},
        next=shown.next,
        first=after is None,
        now=time.time(),
    )


async def steer_job(request: web.Request) -> web.Response:
    job_id, action = request.match_info["job_id"], request.match_info["action"]

    async def steer() -> str:
        job = await actions.steer(parts(request).coordinator, job_id, action)
        return f"Job {job.spec.name or job.job_id} {ACTION_WORDS[action]}."

    return await act(request, await back_to(request, f"/admin/jobs/{job_id}"), steer())


async def delete_job(request: web.Request) -> web.Response:
    job_id = request.match_info["job_id"]

    async def delete() -> str:
        job = await actions.delete_job(parts(request).coordinator, job_id)
        # The page shown next reads a snapshot without the job.
        request.app[FEED].refresh()
        return f"Job {job.spec.name or job.job_id} deleted."

    return await act(request, "/admin/jobs", delete())


async def invalidate_block(request: web.Request) -> web.Response:
    job_id, seq = request.match_info["job_id"], request.match_info["seq"]

    async def invalidate() -> str:
        await actions.invalidate_block(parts(request).coordinator, job_id, seq)
        return f"Block {seq} is back in the pool; its keys run again."

    return await act(request, f"/admin/jobs/{job_id}", invalidate())
