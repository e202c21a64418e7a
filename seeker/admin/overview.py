"""The overview page: the grid at a glance."""

import time

from aiohttp import web

from seeker.admin.console import console
from seeker.admin.events import FEED
from seeker.admin.render import page
from seeker.jobs import JobStatus

RUNNING_SHOWN = 8
FAILURES_SHOWN = 10


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", overview)


async def overview(request: web.Request) -> web.Response:
    grid = console(request)
    live = request.app[FEED].latest()
    coordinator = grid.coordinator
    jobs = sorted(live["jobs"], key=lambda j: j["created_at"], reverse=True)
    running = [j for j in jobs if j["status"] == JobStatus.RUNNING.value][:RUNNING_SHOWN]
    views = {job_id: coordinator.job_view(job) for job_id, job in coordinator.keys.jobs.items()}
    waiting = [(v, v["waiting"]) for v in views.values() if v.get("waiting")]
    failures = [(v["job_id"], v["name"], f) for v in views.values() for f in v["failures"]][
        -FAILURES_SHOWN:
    ]
    givers = coordinator.givers_view()
    return page(
        request,
        "overview.html",
        section="overview",
        title="Overview",
        numbers=live["overview"],
        running=running,
        waiting=waiting,
        failures=failures,
        flagged=givers["flagged"],
        purged=givers["purged"][-FAILURES_SHOWN:],
        pending=grid.admissions.pending(),
        now=time.time(),
    )
