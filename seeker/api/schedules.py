"""The JSON API's schedule routes: add, list, show (with its runs), pause, resume
and remove schedules of periodic jobs. A schedule is named in a path by its id
or its name."""

from aiohttp import web

from channel.jsonweb import json_response, read_json
from seeker.api.parts import parts


def add_schedule_routes(app: web.Application) -> None:
    app.router.add_post("/schedules", add_schedule)
    app.router.add_get("/schedules", list_schedules)
    app.router.add_get("/schedules/{ref}", get_schedule)
    app.router.add_post("/schedules/{ref}/pause", pause_schedule)
    app.router.add_post("/schedules/{ref}/resume", resume_schedule)
    app.router.add_delete("/schedules/{ref}", remove_schedule)


async def add_schedule(request: web.Request) -> web.Response:
    """A schedule: `{"name", "every_s" | "cron" (+ "timezone"), "job", "overlap"?,
    "keep_runs"?, "paused"?}`, its job the body POST /jobs takes."""
    schedule = await parts(request).periodic.add(await read_json(request))
    return json_response(schedule.view(), status=201)


async def list_schedules(request: web.Request) -> web.Response:
    schedules = await parts(request).periodic.schedules()
    return json_response({"schedules": [s.view() for s in schedules]})


async def get_schedule(request: web.Request) -> web.Response:
    periodic = parts(request).periodic
    schedule = await periodic.find(request.match_info["ref"])
    runs = await periodic.runs(schedule.schedule_id)
    return json_response({**schedule.view(), "runs": [run.to_doc() for run in runs]})


async def pause_schedule(request: web.Request) -> web.Response:
    schedule = await parts(request).periodic.pause(request.match_info["ref"])
    return json_response(schedule.view())


async def resume_schedule(request: web.Request) -> web.Response:
    schedule = await parts(request).periodic.resume(request.match_info["ref"])
    return json_response(schedule.view())


async def remove_schedule(request: web.Request) -> web.Response:
    schedule = await parts(request).periodic.remove(request.match_info["ref"])
    return json_response({**schedule.view(), "removed": True})
