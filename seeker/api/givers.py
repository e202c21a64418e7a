"""The JSON API's Giver routes: what Givers call (registration, their session) and
what operators do to Givers (list, approve, revoke, unflag, invalidate their
work)."""

import time

from aiohttp import web

from channel.errors import StoreUnavailable
from channel.jsonweb import error_response, json_response, read_json
from seeker.api.parts import PARTS, parts
from seeker.errors import (
    GiverIdTaken,
    GiverTooOld,
    InvalidJob,
    RegistrationError,
    RegistrationPending,
)
from seeker.grid import actions
from seeker.views.givers import givers_view

SESSION_HEARTBEAT_S = 20.0


def add_giver_routes(app: web.Application) -> list[web.AbstractRoute]:
    """Add the Giver routes; return those Givers call, which anyone may reach."""
    app.router.add_get("/givers", list_givers)
    app.router.add_post("/givers/{giver_id}/unflag", unflag_giver)
    app.router.add_post("/givers/{giver_id}/approve", approve_giver)
    app.router.add_post("/givers/{giver_id}/revoke", revoke_giver)
    app.router.add_post("/givers/{giver_id}/invalidate", invalidate_giver)
    return [
        app.router.add_post("/givers", register_giver),
        app.router.add_get("/givers/{giver_id}/session", giver_session),
    ]


async def register_giver(request: web.Request) -> web.Response:
    """A Giver's signed registration: admitted (200, with where results go and the
    Seeker's key), pending an operator's approval (403 registration_pending), too
    old a release (403 giver_too_old), or refused."""
    seeker = parts(request)
    body = await read_json(request)
    try:
        info = await seeker.sessions.registrar.register(body)
    except RegistrationPending as e:
        return error_response(403, "registration_pending", str(e))
    except GiverIdTaken as e:
        return error_response(403, "giver_id_taken", str(e))
    except GiverTooOld as e:
        return error_response(403, "giver_too_old", str(e))
    except RegistrationError as e:
        return error_response(403 if e.giver_id else 400, "registration_refused", str(e))
    except StoreUnavailable:
        return error_response(503, "store_unavailable", "the results store is unavailable")
    channel_url = seeker.config.channel_url or f"{request.url.origin()}/channel"
    return json_response(
        {
            "giver_id": info.giver_id,
            "channel_url": channel_url,
            "seeker_key": seeker.coordinator.identity.public_key,
        }
    )


async def giver_session(request: web.Request) -> web.WebSocketResponse:
    """A Giver's session: challenge, signed hello, then messages both ways."""
    giver_id = request.match_info["giver_id"]
    sessions = parts(request).sessions
    if sessions.registrar.givers.get(giver_id) is None:
        raise web.HTTPNotFound(text=f"giver {giver_id} is not registered; register first")
    ws = web.WebSocketResponse(heartbeat=SESSION_HEARTBEAT_S)
    await ws.prepare(request)
    await sessions.serve(ws, giver_id)
    return ws


async def close_sessions(app: web.Application) -> None:
    await app[PARTS].sessions.close_all()


async def list_givers(request: web.Request) -> web.Response:
    """Registered Givers with their records, flagged, purged lately, and pending
    an operator's approval."""
    seeker = parts(request)
    return json_response(
        {**givers_view(seeker.coordinator), "pending": seeker.admissions.pending()}
    )


async def approve_giver(request: web.Request) -> web.Response:
    giver_id = request.match_info["giver_id"]
    doc = await parts(request).admissions.approve(giver_id, time.time())
    return json_response(doc)


async def revoke_giver(request: web.Request) -> web.Response:
    """Forget a Giver's admission, take back its tasks and close its session."""
    seeker, giver_id = parts(request), request.match_info["giver_id"]
    return json_response(
        await actions.revoke_giver(seeker.admissions, seeker.coordinator, giver_id)
    )


async def unflag_giver(request: web.Request) -> web.Response:
    """Clear a flagged Giver: it gets work again and earns its trust afresh."""
    giver_id = request.match_info["giver_id"]
    if not await actions.unflag_giver(parts(request).coordinator, giver_id):
        return error_response(404, "not_flagged", f"giver {giver_id} is not flagged")
    return json_response({"giver_id": giver_id, "flagged": False})


async def invalidate_giver(request: web.Request) -> web.Response:
    """Discard what a Giver reported since `since` (epoch seconds; 0 for ever); it
    earns its trust again."""
    body = await read_json(request)
    since = body.get("since", 0) if isinstance(body, dict) else None
    if not isinstance(since, int | float) or isinstance(since, bool):
        raise InvalidJob("since must be a time in seconds since the epoch", field="since")
    giver_id = request.match_info["giver_id"]
    return json_response(
        await actions.invalidate_giver(parts(request).coordinator, giver_id, float(since))
    )
