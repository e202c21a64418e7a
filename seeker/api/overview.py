"""The JSON API's overview of the Seeker: what the admin page's front page shows."""

from aiohttp import web

from channel.jsonweb import json_response
from seeker.grid.admission import Admissions
from seeker.grid.coordinator import Coordinator
from seeker.views.overview import overview

OVERVIEW_COORDINATOR = web.AppKey("overview_coordinator", Coordinator)
OVERVIEW_ADMISSIONS = web.AppKey("overview_admissions", Admissions)


def add_overview_routes(
    app: web.Application, coordinator: Coordinator, admissions: Admissions
) -> None:
    app[OVERVIEW_COORDINATOR], app[OVERVIEW_ADMISSIONS] = coordinator, admissions
    app.router.add_get("/overview", get_overview)


async def get_overview(request: web.Request) -> web.Response:
    return json_response(
        overview(request.app[OVERVIEW_COORDINATOR], request.app[OVERVIEW_ADMISSIONS])
    )
