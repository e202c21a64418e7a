"""The Seeker's JSON API: Giver registration and sessions, jobs, exports."""

import asyncio
import logging
import secrets
import time

from aiohttp import WSMsgType, web

from channel import canonical, messages
from channel.base import Channel
from channel.errors import StoreUnavailable, WireError
from channel.identity import verify_value
from channel.jsonweb import error_middleware, error_response, json_response
from seeker.config import SeekerConfig
from seeker.coordinator import Coordinator
from seeker.errors import InvalidJob, RegistrationError, UnknownJob
from seeker.givers import GiverRegistry, GiverSession, decode_or_none, verify_registration
from seeker.spec import parse_job

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", SeekerConfig)
CHANNEL = web.AppKey("channel", Channel)
GIVERS = web.AppKey("givers", GiverRegistry)
COORDINATOR = web.AppKey("coordinator", Coordinator)
HELLO_TIMEOUT_S = 10.0
SESSION_HEARTBEAT_S = 20.0
EXPORT_PAGE = 200


def make_api(
    config: SeekerConfig, channel: Channel, givers: GiverRegistry, coordinator: Coordinator
) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[CONFIG], app[CHANNEL], app[GIVERS], app[COORDINATOR] = (
        config,
        channel,
        givers,
        coordinator,
    )
    app.router.add_post("/givers", register_giver)
    app.router.add_get("/givers", list_givers)
    app.router.add_get("/givers/{giver_id}/session", giver_session)
    app.router.add_post("/jobs", submit_job)
    app.router.add_get("/jobs", list_jobs)
    app.router.add_get("/jobs/{job_id}", get_job)
    app.router.add_get("/jobs/{job_id}/records", job_records)
    app.on_shutdown.append(close_sessions)
    return app


async def _json_body(request: web.Request) -> object:
    try:
        return canonical.loads(await request.read())
    except WireError as e:
        raise web.HTTPBadRequest(text=f"request body is not JSON: {e}") from e


async def register_giver(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    try:
        info = verify_registration(
            await _json_body(request), time.time(), config.registration_skew_s
        )
    except RegistrationError as e:
        return error_response(403 if e.giver_id else 400, "registration_refused", str(e))
    try:
        await request.app[CHANNEL].register_giver(info.giver_id, info.public_key)
    except StoreUnavailable:
        return error_response(503, "store_unavailable", "the results store is unavailable")
    request.app[GIVERS].register(info)
    channel_url = config.channel_url or f"{request.url.origin()}/channel"
    return json_response({"giver_id": info.giver_id, "channel_url": channel_url})


async def list_givers(request: web.Request) -> web.Response:
    return json_response({"givers": request.app[GIVERS].view()})


async def giver_session(request: web.Request) -> web.WebSocketResponse:
    """A Giver's session: challenge, signed hello, then messages both ways."""
    giver_id = request.match_info["giver_id"]
    entry = request.app[GIVERS].get(giver_id)
    if entry is None:
        raise web.HTTPNotFound(text=f"giver {giver_id} is not registered; register first")
    ws = web.WebSocketResponse(heartbeat=SESSION_HEARTBEAT_S)
    await ws.prepare(request)
    nonce = secrets.token_urlsafe(24)
    await ws.send_bytes(messages.encode(messages.Challenge(nonce)))
    try:
        frame = await ws.receive(timeout=HELLO_TIMEOUT_S)
    except TimeoutError:
        await ws.close(code=4008, message=b"no hello in time")
        return ws
    hello = (
        decode_or_none(frame.data, giver_id)
        if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY)
        else None
    )
    if not (
        isinstance(hello, messages.Hello)
        and hello.giver_id == giver_id
        and verify_value(
            entry.info.public_key, messages.Hello.signed_value(giver_id, nonce), hello.signature
        )
    ):
        log.warning("giver %s failed the session proof", giver_id)
        await ws.close(code=4003, message=b"session proof refused")
        return ws
    session = GiverSession(giver_id, ws)
    coordinator = request.app[COORDINATOR]
    previous = coordinator.attach(session)
    if previous is not None:
        await previous.close()
    log.info("giver %s session open", giver_id)
    try:
        async for frame in ws:
            if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                message = decode_or_none(frame.data, giver_id)
                if message is not None:
                    coordinator.on_message(giver_id, message)
    finally:
        coordinator.detach(session)
        log.info("giver %s session closed", giver_id)
    return ws


async def close_sessions(app: web.Application) -> None:
    await asyncio.gather(*(s.close() for s in app[GIVERS].sessions()), return_exceptions=True)


async def submit_job(request: web.Request) -> web.Response:
    try:
        spec = parse_job(await _json_body(request))
    except InvalidJob as e:
        return error_response(400, "invalid_job", str(e))
    job = request.app[COORDINATOR].submit(spec)
    return json_response(job.view(), status=201)


async def list_jobs(request: web.Request) -> web.Response:
    return json_response(request.app[COORDINATOR].view())


async def get_job(request: web.Request) -> web.Response:
    try:
        job = request.app[COORDINATOR].job(request.match_info["job_id"])
    except UnknownJob as e:
        return error_response(404, "unknown_job", str(e))
    return json_response(job.view())


async def job_records(request: web.Request) -> web.StreamResponse:
    """Stream the records of a job's counted results as JSON lines."""
    try:
        job = request.app[COORDINATOR].job(request.match_info["job_id"])
    except UnknownJob as e:
        return error_response(404, "unknown_job", str(e))
    counted = {t.result_id for t in job.tasks.values() if t.result_id}
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    after = ""
    while page := await request.app[CHANNEL].results_for_job(
        job.job_id, after=after, limit=EXPORT_PAGE
    ):
        for result in page:
            if result.result_id in counted:
                await response.write(b"".join(canonical.dumps(r) + b"\n" for r in result.records))
        after = page[-1].result_id
    await response.write_eof()
    return response
