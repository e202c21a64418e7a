"""The schedules pages: every schedule of periodic jobs with the form that adds
one, one schedule with its runs, and pause, resume, remove."""

import time

from aiohttp import web

from seeker.admin.flash import act, back_to, redirect
from seeker.admin.render import page
from seeker.admin.schedule_form import (
    EXAMPLE_JOB,
    MAX_EVERY_MIN,
    MIN_EVERY_MIN,
    fresh_values,
    schedule_body,
    schedule_error,
)
from seeker.api.parts import parts
from seeker.errors import InvalidForm, InvalidSchedule
from seeker.views import display

ACTION_WORDS = {"pause": "paused", "resume": "resumed", "remove": "removed"}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/schedules", list_schedules)
    router.add_post("/schedules", add_schedule)
    router.add_get("/schedules/{ref}", show_schedule)
    router.add_post("/schedules/{ref}/{action:pause|resume|remove}", change_schedule)


async def list_schedules(request: web.Request) -> web.Response:
    return await _list_page(request, fresh_values(), {})


async def add_schedule(request: web.Request) -> web.Response:
    posted = await request.post()
    values = {name: value for name, value in posted.items() if isinstance(value, str)}
    try:
        body = schedule_body(values)
        try:
            schedule = await parts(request).periodic.add(body)
        except InvalidSchedule as e:
            raise schedule_error(e) from e
    except InvalidForm as e:
        return await _list_page(request, values, e.errors, status=400)
    return redirect(
        "/admin/schedules",
        f"Schedule {schedule.name} added; its first job is made at "
        f"{display.stamp_utc(schedule.next_at)}.",
    )


async def _list_page(
    request: web.Request, values: dict[str, str], errors: dict[str, str], *, status: int = 200
) -> web.Response:
    seeker = parts(request)
    schedules = await seeker.periodic.schedules()
    return page(
        request,
        "schedules.html",
        status=status,
        section="schedules",
        title="Schedules",
        schedules=[s.view() for s in sorted(schedules, key=lambda s: s.name)],
        scrapers=sorted(entry.name for entry in await seeker.catalog.list()),
        values=values,
        errors=errors,
        every_bounds=(MIN_EVERY_MIN, MAX_EVERY_MIN),
        example_job=EXAMPLE_JOB,
        now=time.time(),
    )


async def show_schedule(request: web.Request) -> web.Response:
    periodic = parts(request).periodic
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
    periodic = parts(request).periodic
    default = "/admin/schedules" if action == "remove" else f"/admin/schedules/{ref}"
    back = await back_to(request, default)

    async def change() -> str:
        schedule = await getattr(periodic, action)(ref)
        return f"Schedule {schedule.name} {ACTION_WORDS[action]}."

    return await act(request, back, change())
