"""JSON responses and errors for aiohttp apps, serialised in one place.

Every error a client sees is `{"code": ..., "message": ...}` with a fitting
status; an unexpected exception is logged and answered with a plain 500,
never with a traceback.

May import: channel.errors, channel.wire.
"""

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from channel.errors import WireError
from channel.wire import canonical

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(value: Any, *, status: int = 200) -> web.Response:
    return web.Response(body=canonical.dumps(value), status=status, content_type="application/json")


def error_response(status: int, code: str, message: str) -> web.Response:
    return json_response({"code": code, "message": message}, status=status)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; 400 if it is not JSON."""
    try:
        return canonical.loads(await request.read())
    except WireError as e:
        raise web.HTTPBadRequest(text=f"request body is not JSON: {e}") from e


def http_error_response(e: web.HTTPException) -> web.Response:
    """One of aiohttp's HTTP errors as a JSON error, with the headers it carries
    (a 405's `Allow`, say) but its own body's."""
    response = error_response(e.status, e.reason.lower().replace(" ", "_"), e.text or e.reason)
    for name, value in e.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            response.headers.add(name, value)
    return response


def read_error(body: bytes) -> tuple[str, str]:
    """The (code, message) of an error answer; its first bytes if it is not one of ours."""
    try:
        value = canonical.loads(body)
    except WireError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return str(value.get("code", "error")), value["message"]
    return "error", body[:200].decode(errors="replace") or "(no message)"


def retry_after_s(value: str | None) -> float | None:
    """The seconds a `Retry-After` header asks a client to wait, or None when it
    gives none (absent, an HTTP date, or not a finite number of seconds)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn aiohttp's HTTP errors and unexpected exceptions into JSON errors."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return http_error_response(e)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal error; see the server log")
