"""Post/redirect/get: an action answers with a redirect and a one-time message
(a short-lived cookie) that the next page shows; a script's fetch gets the
message as JSON instead."""

import base64
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from aiohttp import web

from channel.errors import StoreUnavailable, WireError
from channel.jsonweb import json_response
from channel.wire import canonical
from seeker.api.errors import error_status
from seeker.errors import SeekerError

log = logging.getLogger(__name__)

FLASH_COOKIE = "seekgive_flash"
FLASH_MAX_AGE_S = 60
MAX_FLASH_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Flash:
    """A message for the next page: `kind` is ok or error."""

    kind: str
    text: str


def redirect(location: str, text: str, *, kind: str = "ok") -> web.Response:
    """A 303 to `location` that shows `text` there."""
    response = web.Response(status=303, headers={"Location": location})
    value = canonical.dumps({"kind": kind, "text": text[:MAX_FLASH_CHARS]})
    response.set_cookie(
        FLASH_COOKIE,
        base64.urlsafe_b64encode(value).decode(),
        path="/admin/",
        max_age=FLASH_MAX_AGE_S,
        httponly=True,
        samesite="Strict",
    )
    return response


def take_flash(request: web.Request) -> Flash | None:
    """The message the last action left for this page, if any (the caller clears it)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = canonical.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, WireError):
        return None
    if not isinstance(value, dict):
        return None
    kind, text = value.get("kind"), value.get("text")
    if kind not in ("ok", "error") or not isinstance(text, str):
        return None
    return Flash(kind, text)


def wants_json(request: web.Request) -> bool:
    """Whether the page's script sent this action (and takes the outcome as JSON)."""
    return "application/json" in request.headers.get("Accept", "")


async def act(request: web.Request, back: str, action: Awaitable[str]) -> web.Response:
    """Run an operator's action and answer with where to go and what happened: its
    message, or the error that stopped it."""
    try:
        text, kind, status = await action, "ok", 200
    except StoreUnavailable as e:
        text, kind, status = f"the store is unavailable: {e}", "error", 503
    except SeekerError as e:
        text, kind, status = str(e), "error", (error_status(e) or (400, ""))[0]
    if kind == "error":
        log.info("%s %s refused: %s", request.method, request.path, text)
    if wants_json(request):
        return json_response({"kind": kind, "message": text}, status=status)
    return redirect(back, text, kind=kind)


async def back_to(request: web.Request, default: str) -> str:
    """Where an action's form asks to go back to (its `next` field: a path of these
    pages), else `default`."""
    target = (await request.post()).get("next", "")
    if isinstance(target, str) and target.startswith("/admin/") and "//" not in target:
        return target
    return default
