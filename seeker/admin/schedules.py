"""The schedules pages: every schedule of periodic jobs, one with its runs, and
pause, resume, remove."""

import time

from aiohttp import web

from seeker.admin.console import console
from seeker.admin.flash import act, back_to
from seeker.admin.render import page

ACTION_WORDS = {"pause": "paused", "resume": "resumed", "remove": "removed"}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/schedules", list_schedules)
    router.add_get("/schedules/{ref}", show_schedule)
    router.add_post("/schedules/{ref}/{action:pause|resume|remove}", change_schedule)


async def list_schedules(request: web.Request) -> web.Response:
    schedules = await console(request).periodic.schedules()
    return page(
        request,
        "schedules.html",
        section="schedules",
        title="Schedules",
        schedules=[s.view() for s in sorted(schedules, key=lambda s: s.name)],
        now=time.time(),
    )


async def show_schedule(request: web.Request) -> web.Response:
    periodic = console(request).periodic
    schedule = await periodic.find(request.match_info["ref"])
    runs = await periodic.runs(schedule.schedule_id)
    return page(
        request,
        "schedule.html",
        section="schedules",
        title=f"Schedule {schedule.name}",
        schedule=schedule.view(),
        runs=[run.to_doc() for run in sorted(runs, key=lambda r: r.tick, reverse=True)],
        now=time.time(),
    )


async def change_schedule(request: web.Request) -> web.Response:
    ref, action = request.match_info["ref"], request.match_info["action"]
    periodic = console(request).periodic
    default = "/admin/schedules" if action == "remove" else f"/admin/schedules/{ref}"
    back = await back_to(request, default)

    async def change() -> str:
        schedule = await getattr(periodic, action)(ref)
        return f"Schedule {schedule.name} {ACTION_WORDS[action]}."

    return await act(request, back, change())
