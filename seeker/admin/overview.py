"""The overview page: the grid at a glance (seeker.views.overview, as the API gives it),
and the health of the services the Seeker depends on, checked on demand."""

import time

from aiohttp import web

from seeker.admin.events import FEED
from seeker.admin.render import page
from seeker.api.parts import parts
from seeker.views.givers import flagged
from seeker.views.overview import overview
from seeker.work.jobs import JobStatus

RUNNING_SHOWN = 8


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", show_overview)
    router.add_get("/health", show_health)


async def show_overview(request: web.Request) -> web.Response:
    seeker = parts(request)
    coordinator = seeker.coordinator
    live = request.app[FEED].latest()
    jobs = sorted(live["jobs"], key=lambda j: j["created_at"], reverse=True)
    running = [j for j in jobs if j["status"] == JobStatus.RUNNING.value][:RUNNING_SHOWN]
    views = {job_id: coordinator.job_view(job) for job_id, job in coordinator.keys.jobs.items()}
    waiting = [(v, v["waiting"]) for v in views.values() if v.get("waiting")]
    return page(
        request,
        "overview.html",
        section="overview",
        title="Overview",
        numbers=overview(coordinator, seeker.admissions),
        names={job_id: v["name"] for job_id, v in views.items()},
        running=running,
        waiting=waiting,
        flagged=flagged(coordinator),
        pending=seeker.admissions.pending(),
        now=time.time(),
    )


async def show_health(request: web.Request) -> web.Response:
    """Every service checked now (seeker.views.health, as GET /api/v1/diagnostics does):
    a page of its own, whose panel the overview's script also loads in place."""
    checks = await parts(request).services.diagnose()
    return page(
        request,
        "health.html",
        section="overview",
        title="Health",
        checks=checks,
        checked_at=time.time(),
    )
