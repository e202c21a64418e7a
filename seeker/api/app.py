"""The Seeker's JSON API: Giver registration, admission and sessions, admission
tokens; job routes are in jobs_api and job_detail_api, the overview in
overview_api, reader tokens in readers_api, schedules in schedules_api,
operator tokens in operators_api.

Only the routes Givers use (registration, the session, the Seeker's key, who
leads, image archives) are public; they prove who is asking by signatures.
So is the OpenAPI document (seeker.api.openapi), for tools to read. Every other
route needs an operator (seeker.access.auth)."""

import logging
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from channel.errors import StoreUnavailable
from channel.jsonweb import error_middleware, error_response, json_response, read_json
from seeker.access.auth import OPERATORS, PUBLIC_ROUTES, public_routes
from seeker.access.operators import Operators
from seeker.api.images import add_image_routes
from seeker.api.job_detail import add_job_detail_routes
from seeker.api.jobs import add_job_routes, seeker_errors
from seeker.api.openapi import add_openapi_route
from seeker.api.operator import add_operator_routes
from seeker.api.overview import add_overview_routes
from seeker.api.readers import add_reader_routes
from seeker.api.schedules import add_schedule_routes
from seeker.api.scrapers import add_scraper_routes
from seeker.catalog.store import Catalog
from seeker.config import SeekerConfig
from seeker.errors import (
    GiverIdTaken,
    InvalidTokenRequest,
    RegistrationError,
    RegistrationPending,
)
from seeker.grid import actions
from seeker.grid.admission import Admissions, token_view
from seeker.grid.coordinator import Coordinator
from seeker.grid.sessions import Sessions
from seeker.schedules.firing import PeriodicJobs
from seeker.state.base import Leader
from seeker.views.health import Services, add_diagnostics_route

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", SeekerConfig)
SESSIONS = web.AppKey("sessions", Sessions)
COORDINATOR = web.AppKey("coordinator", Coordinator)
ADMISSIONS = web.AppKey("admissions", Admissions)
SESSION_HEARTBEAT_S = 20.0
# Inline keys beyond this belong in a keys file, which streams.
MAX_BODY_BYTES = 16 * 1024 * 1024


def make_api(
    config: SeekerConfig,
    sessions: Sessions,
    coordinator: Coordinator,
    admissions: Admissions,
    leader: Callable[[], Leader | None],
    catalog: Catalog,
    periodic: PeriodicJobs,
    operators: Operators,
) -> web.Application:
    """The API; `leader()` is None while this Seeker leads, else who does. The
    routes anyone may reach are in `app[PUBLIC_ROUTES]`."""
    app = web.Application(
        middlewares=[error_middleware, _leading_only(leader), seeker_errors],
        client_max_size=MAX_BODY_BYTES,
    )
    app[CONFIG], app[SESSIONS], app[COORDINATOR] = config, sessions, coordinator
    app[ADMISSIONS], app[OPERATORS] = admissions, operators

    async def leader_view(request: web.Request) -> web.Response:
        return _leader_view(leader())

    public = {
        app.router.add_get("/leader", leader_view),
        app.router.add_get("/identity", seeker_key),
        app.router.add_post("/givers", register_giver),
        app.router.add_get("/givers/{giver_id}/session", giver_session),
        add_image_routes(app, catalog, admissions, max_skew_s=config.registration_skew_s),
        add_openapi_route(app),
    }
    app.router.add_get("/givers", list_givers)
    app.router.add_post("/givers/{giver_id}/unflag", unflag_giver)
    app.router.add_post("/givers/{giver_id}/approve", approve_giver)
    app.router.add_post("/givers/{giver_id}/revoke", revoke_giver)
    app.router.add_post("/tokens", issue_token)
    app.router.add_get("/tokens", list_tokens)
    app.router.add_post("/tokens/{token_id}/revoke", revoke_token)
    add_job_routes(app, config, coordinator)
    add_job_detail_routes(app)
    add_overview_routes(app, coordinator, admissions)
    add_scraper_routes(app, catalog)
    add_schedule_routes(app, periodic)
    add_reader_routes(app, coordinator.keys.channel)
    add_diagnostics_route(
        app,
        Services(
            coordinator.keys.store,
            coordinator.keys.channel,
            catalog.images,
            sessions.registrar.givers,
            channel_url=config.channel_url,
        ),
    )
    add_operator_routes(app)
    app[PUBLIC_ROUTES] = public_routes(public)
    app.on_shutdown.append(close_sessions)
    return app


async def register_giver(request: web.Request) -> web.Response:
    """A Giver's signed registration: admitted (200, with where results go and the
    Seeker's key), pending an operator's approval (403 registration_pending), or
    refused."""
    config = request.app[CONFIG]
    body = await read_json(request)
    try:
        info = await request.app[SESSIONS].registrar.register(body)
    except RegistrationPending as e:
        return error_response(403, "registration_pending", str(e))
    except GiverIdTaken as e:
        return error_response(403, "giver_id_taken", str(e))
    except RegistrationError as e:
        return error_response(403 if e.giver_id else 400, "registration_refused", str(e))
    except StoreUnavailable:
        return error_response(503, "store_unavailable", "the results store is unavailable")
    channel_url = config.channel_url or f"{request.url.origin()}/channel"
    return json_response(
        {
            "giver_id": info.giver_id,
            "channel_url": channel_url,
            "seeker_key": request.app[COORDINATOR].identity.public_key,
        }
    )


async def seeker_key(request: web.Request) -> web.Response:
    """The public key the Seeker signs tasks with, for volunteers to pin."""
    identity = request.app[COORDINATOR].identity
    return json_response({"seeker_key": identity.public_key, "key_id": identity.id})


async def approve_giver(request: web.Request) -> web.Response:
    giver_id = request.match_info["giver_id"]
    doc = await request.app[ADMISSIONS].approve(giver_id, time.time())
    return json_response(doc)


async def revoke_giver(request: web.Request) -> web.Response:
    """Forget a Giver's admission, take back its tasks and close its session."""
    giver_id = request.match_info["giver_id"]
    return json_response(
        await actions.revoke_giver(request.app[ADMISSIONS], request.app[COORDINATOR], giver_id)
    )


async def issue_token(request: web.Request) -> web.Response:
    """A new admission token: `{"label"?, "expires_in_s"?, "uses"?}`; the answer
    holds the token itself, which is never shown again."""
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) - {"label", "expires_in_s", "uses"}:
        raise InvalidTokenRequest(
            "a token request is an object with label, expires_in_s and uses, each optional",
            field="",
        )
    label, expires_in_s, uses = body.get("label", ""), body.get("expires_in_s"), body.get("uses")
    if not isinstance(label, str):
        raise InvalidTokenRequest("label must be a string", field="label")
    if expires_in_s is not None and (
        isinstance(expires_in_s, bool) or not isinstance(expires_in_s, int | float)
    ):
        raise InvalidTokenRequest("expires_in_s must be a number of seconds", field="expires_in_s")
    if uses is not None and (isinstance(uses, bool) or not isinstance(uses, int)):
        raise InvalidTokenRequest("uses must be a whole number", field="uses")
    now = time.time()
    token, doc = await request.app[ADMISSIONS].issue(
        now, label=label, expires_in_s=expires_in_s, uses=uses
    )
    return json_response({**token_view(doc, now), "token": token}, status=201)


async def list_tokens(request: web.Request) -> web.Response:
    return json_response({"tokens": await request.app[ADMISSIONS].tokens(time.time())})


async def revoke_token(request: web.Request) -> web.Response:
    now = time.time()
    doc = await request.app[ADMISSIONS].revoke_token(request.match_info["token_id"], now)
    return json_response(token_view(doc, now))


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
    """Registered Givers with their records, flagged, purged lately, and pending
    an operator's approval."""
    return json_response(
        {**request.app[COORDINATOR].givers_view(), "pending": request.app[ADMISSIONS].pending()}
    )


async def unflag_giver(request: web.Request) -> web.Response:
    """Clear a flagged Giver: it gets work again and earns its trust afresh."""
    giver_id = request.match_info["giver_id"]
    if not await actions.unflag_giver(request.app[COORDINATOR], giver_id):
        return error_response(404, "not_flagged", f"giver {giver_id} is not flagged")
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
