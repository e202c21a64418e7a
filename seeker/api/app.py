"""The Seeker's JSON API: the app mounted at /api/v1, its middlewares, and the
routes about the Seeker itself (who leads, the key it signs tasks with).

Only the routes Givers use (registration, the session, the Seeker's key, who
leads, image archives) are public; they prove who is asking by signatures.
So is the OpenAPI document (seeker.api.openapi), for tools to read. Every other
route needs an operator (seeker.access.auth)."""

import logging
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from channel.jsonweb import error_middleware, error_response, json_response
from seeker.access.auth import PUBLIC_ROUTES, public_routes
from seeker.api.errors import seeker_errors
from seeker.api.givers import add_giver_routes, close_sessions
from seeker.api.health import add_diagnostics_route
from seeker.api.images import add_image_routes
from seeker.api.job_detail import add_job_detail_routes
from seeker.api.jobs import add_job_routes
from seeker.api.openapi import add_openapi_route
from seeker.api.operator import add_operator_routes
from seeker.api.overview import add_overview_routes
from seeker.api.parts import PARTS, Parts, parts
from seeker.api.readers import add_reader_routes
from seeker.api.schedules import add_schedule_routes
from seeker.api.scrapers import add_scraper_routes
from seeker.api.tokens import add_token_routes
from seeker.state.base import Leader

log = logging.getLogger(__name__)

# Inline keys beyond this belong in a keys file, which streams. aiohttp applies the
# limit of the app a server runs, not of a sub-app: the root app sets it.
MAX_BODY_BYTES = 16 * 1024 * 1024


def make_api(seeker: Parts) -> web.Application:
    """The API over the Seeker's parts. The routes anyone may reach are in
    `app[PUBLIC_ROUTES]`."""
    app = web.Application(
        middlewares=[error_middleware, _leading_only(seeker.leader), seeker_errors]
    )
    app[PARTS] = seeker
    public = {
        app.router.add_get("/leader", leader_view),
        app.router.add_get("/identity", seeker_key),
        *add_giver_routes(app),
        add_image_routes(app),
        add_openapi_route(app),
    }
    add_token_routes(app)
    add_job_routes(app)
    add_job_detail_routes(app)
    add_overview_routes(app)
    add_scraper_routes(app)
    add_schedule_routes(app)
    add_reader_routes(app)
    add_diagnostics_route(app)
    add_operator_routes(app)
    app[PUBLIC_ROUTES] = public_routes(public)
    app.on_shutdown.append(close_sessions)
    return app


async def seeker_key(request: web.Request) -> web.Response:
    """The public key the Seeker signs tasks with, for volunteers to pin."""
    identity = parts(request).coordinator.identity
    return json_response({"seeker_key": identity.public_key, "key_id": identity.id})


def _leading_only(leader: Callable[[], Leader | None]) -> Middleware:
    """A Seeker standing by answers only `GET /leader` and its diagnostics; everything
    else is a 503 naming the leader, so a load balancer or a Giver can go there."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        current = leader()
        if current is None or request.path.endswith(("/leader", "/diagnostics")):
            return await handler(request)
        where = f"{current.holder} at {current.url}" if current.holder else "none yet"
        response = error_response(
            503, "not_leader", f"this Seeker is standing by; the leader is {where}"
        )
        response.headers["Retry-After"] = "5"
        return response

    return middleware


async def leader_view(request: web.Request) -> web.Response:
    """200 on the leader, 503 on a Seeker standing by: a load balancer's health check."""
    current = parts(request).leader()
    if current is None:
        return json_response({"leader": True})
    return json_response(
        {
            "leader": False,
            "holder": current.holder,
            "url": current.url,
            "expires_at": current.expires_at,
        },
        status=503,
    )
