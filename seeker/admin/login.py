"""Signing in and out: one field, the password or an operator token; a session
cookie (seeker.access.auth) on success. Failures are limited per client address."""

import math
import time
from urllib.parse import urlsplit

from aiohttp import web

from seeker.access.auth import OPERATOR, authenticate, clear_session_cookie, set_session_cookie
from seeker.admin.render import page
from seeker.api.parts import parts
from seeker.errors import LoginRefused

HOME = "/admin/"


def add_routes(router: web.UrlDispatcher) -> list[web.AbstractRoute]:
    """Add the routes; return those anyone may reach (signing in)."""
    router.add_post("/logout", log_out)
    return [router.add_get("/login", login_page), router.add_post("/login", log_in)]


async def login_page(request: web.Request) -> web.StreamResponse:
    if await authenticate(parts(request).operators, request, time.time()) is not None:
        raise web.HTTPSeeOther(_next(request.query.get("next", "")))
    return _form(request, "", 200, request.query.get("next", ""))


def _form(request: web.Request, error: str, status: int, next_page: str) -> web.Response:
    return page(
        request,
        "login.html",
        status=status,
        section="login",
        title="Sign in",
        error=error,
        next_page=_next(next_page),
    )


async def log_in(request: web.Request) -> web.StreamResponse:
    """The sign-in form: on success to the page asked for (or the overview) with a
    session cookie; otherwise the form again, saying why."""
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        return _form(request, "Sign in from this Seeker's own page.", 403, "")
    form = await request.post()
    secret, next_page = form.get("secret", ""), form.get("next", "")
    next_page = next_page if isinstance(next_page, str) else ""
    if not isinstance(secret, str) or not secret:
        return _form(request, "Type the password or an operator token.", 400, next_page)
    try:
        cookie = await parts(request).operators.log_in(secret, request.remote or "", time.time())
    except LoginRefused as e:
        status = 429 if e.retry_after_s else 401
        response = _form(request, f"{str(e).capitalize()}.", status, next_page)
        if e.retry_after_s:
            response.headers["Retry-After"] = str(math.ceil(e.retry_after_s))
        return response
    response = web.HTTPSeeOther(_next(next_page))
    set_session_cookie(response, request, cookie)
    raise response


async def log_out(request: web.Request) -> web.StreamResponse:
    """End this browser's session (behind the CSRF check, like every action)."""
    assert request.get(OPERATOR) is not None
    response = web.HTTPSeeOther("/admin/login")
    clear_session_cookie(response)
    raise response


def _next(given: str) -> str:
    """Where to go after signing in: a page of the admin app, never another site."""
    parts = urlsplit(given)
    if parts.scheme or parts.netloc or not parts.path.startswith(HOME):
        return HOME
    return given
