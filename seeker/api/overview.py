"""The JSON API's overview of the Seeker: what the admin page's front page shows."""

from aiohttp import web

from channel.jsonweb import json_response
from seeker.api.parts import parts
from seeker.views.overview import overview


def add_overview_routes(app: web.Application) -> None:
    app.router.add_get("/overview", get_overview)


async def get_overview(request: web.Request) -> web.Response:
    seeker = parts(request)
    return json_response(overview(seeker.coordinator, seeker.admissions))
