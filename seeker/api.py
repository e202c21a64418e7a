"""The Seeker's JSON API: Giver registration and sessions; job routes are in jobs_api."""

import logging
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from channel.errors import StoreUnavailable
from channel.jsonweb import error_middleware, error_response, json_response, read_json
from seeker.config import SeekerConfig
from seeker.coordinator import Coordinator
from seeker.errors import RegistrationError
from seeker.jobs_api import add_job_routes, seeker_errors
from seeker.session import Sessions
from seeker.state.base import Leader

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", SeekerConfig)
SESSIONS = web.AppKey("sessions", Sessions)
COORDINATOR = web.AppKey("coordinator", Coordinator)
SESSION_HEARTBEAT_S = 20.0
# Inline keys beyond this belong in a keys file, which streams.
MAX_BODY_BYTES = 16 * 1024 * 1024


def make_api(
    config: SeekerConfig,
    sessions: Sessions,
    coordinator: Coordinator,
    leader: Callable[[], Leader | None],
) -> web.Application:
    """The API; `leader()` is None while this Seeker leads, else who does."""
    app = web.Application(
        middlewares=[error_middleware, _leading_only(leader), seeker_errors],
        client_max_size=MAX_BODY_BYTES,
    )
    app[CONFIG], app[SESSIONS], app[COORDINATOR] = config, sessions, coordinator

    async def leader_view(request: web.Request) -> web.Response:
        return _leader_view(leader())

    app.router.add_get("/leader", leader_view)
    app.router.add_post("/givers", register_giver)
    app.router.add_get("/givers", list_givers)
    app.router.add_post("/givers/{giver_id}/unflag", unflag_giver)
    app.router.add_get("/givers/{giver_id}/session", giver_session)
    add_job_routes(app, config, coordinator)
    app.on_shutdown.append(close_sessions)
    return app


async def register_giver(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    body = await read_json(request)
    try:
        info = await request.app[SESSIONS].registrar.register(body)
    except RegistrationError as e:
        return error_response(403 if e.giver_id else 400, "registration_refused", str(e))
    except StoreUnavailable:
        return error_response(503, "store_unavailable", "the results store is unavailable")
    channel_url = config.channel_url or f"{request.url.origin()}/channel"
    return json_response({"giver_id": info.giver_id, "channel_url": channel_url})


def _leading_only(leader: Callable[[], Leader | None]) -> Middleware:
    """A Seeker standing by answers only `GET /leader`; everything else is a 503
    naming the leader, so a load balancer or a Giver can go there."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        current = leader()
        if current is None or request.path.endswith("/leader"):
            return await handler(request)
        where = f"{current.holder} at {current.url}" if current.holder else "none yet"
        response = error_response(
            503, "not_leader", f"this Seeker is standing by; the leader is {where}"
        )
        response.headers["Retry-After"] = "5"
        return response

    return middleware


def _leader_view(current: Leader | None) -> web.Response:
    """200 on the leader, 503 on a Seeker standing by: a load balancer's health check."""
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


async def list_givers(request: web.Request) -> web.Response:
    return json_response(request.app[COORDINATOR].givers_view())


async def unflag_giver(request: web.Request) -> web.Response:
    """Clear a flagged Giver: it gets work again and earns its trust afresh."""
    giver_id = request.match_info["giver_id"]
    coordinator = request.app[COORDINATOR]
    if not coordinator.trust.unflag(giver_id):
        return error_response(404, "not_flagged", f"giver {giver_id} is not flagged")
    await coordinator.flush_trust()
    coordinator.wake()
    return json_response({"giver_id": giver_id, "flagged": False})


async def giver_session(request: web.Request) -> web.WebSocketResponse:
    """A Giver's session: challenge, signed hello, then messages both ways."""
    giver_id = request.match_info["giver_id"]
    sessions = request.app[SESSIONS]
    if sessions.registrar.givers.get(giver_id) is None:
        raise web.HTTPNotFound(text=f"giver {giver_id} is not registered; register first")
    ws = web.WebSocketResponse(heartbeat=SESSION_HEARTBEAT_S)
    await ws.prepare(request)
    await sessions.serve(ws, giver_id)
    return ws


async def close_sessions(app: web.Application) -> None:
    await app[SESSIONS].close_all()
