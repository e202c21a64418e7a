"""Operator authentication for the Seeker's HTTP routes.

A request is an operator's when it carries `Authorization: Bearer TOKEN` (the
JSON API's way, for scripts, the CLI and Prometheus) or the admin page's
session cookie. A cookie is sent by the browser on its own, so any request
that changes something and rides on a cookie must also carry the session's
CSRF token (header `X-CSRF-Token`, or form field `csrf_token`) and, when the
browser names an `Origin`, come from this host.
"""

import hmac
import logging
import time
from collections.abc import Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from channel.jsonweb import error_response
from seeker.access.operators import SESSION_S, Operator, Operators

log = logging.getLogger(__name__)

OPERATOR = web.RequestKey("operator", Operator)
# The routes of an app anyone may reach, as (resource, method).
PUBLIC_ROUTES = web.AppKey("public_routes", frozenset[tuple[object, str]])
SESSION_COOKIE = "seekgive_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def public_routes(routes: Iterable[web.AbstractRoute]) -> frozenset[tuple[object, str]]:
    """What goes in an app's PUBLIC_ROUTES for `routes`."""
    return frozenset((route.resource, route.method) for route in routes)


def is_public(app: web.Application, request: web.Request) -> bool:
    """Whether `request` matched one of `app`'s public routes (HEAD goes as GET)."""
    route = request.match_info.route
    method = "GET" if route.method == "HEAD" else route.method
    return (route.resource, method) in app[PUBLIC_ROUTES]


def operator_of(request: web.Request) -> Operator:
    """The operator the auth middleware let in."""
    return request[OPERATOR]


def operator_auth(
    operators: Operators,
    *,
    public: Callable[[web.Request], bool],
    refuse: Callable[[web.Request, str], web.StreamResponse] | None = None,
) -> Middleware:
    """Let in operators only, on every route but the `public` ones. `refuse`
    answers a request without credentials (default: 401 as JSON)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if public(request):
            return await handler(request)
        now = time.time()
        operator = await authenticate(operators, request, now)
        if operator is None:
            message = (
                "this needs an operator: send Authorization: Bearer TOKEN "
                "(`seeker run` writes one to DATA_DIR/operator.token at first start) "
                "or sign in on the admin page"
            )
            return (refuse or unauthorized)(request, message)
        if operator.session and request.method not in _SAFE_METHODS:
            problem = await _forgery(request, operator)
            if problem:
                log.warning("%s %s refused: %s", request.method, request.path, problem)
                return error_response(403, "csrf_failed", problem)
        request[OPERATOR] = operator
        return await handler(request)

    return middleware


def unauthorized(request: web.Request, message: str) -> web.Response:
    """401 as JSON, asking for a bearer token."""
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="seekgive"'
    return response


async def authenticate(operators: Operators, request: web.Request, now: float) -> Operator | None:
    """The operator behind `request`'s bearer token or session cookie, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return await operators.bearer(token.strip(), now)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return await operators.session(cookie, now)
    return None


async def _forgery(request: web.Request, operator: Operator) -> str:
    """Why a cookie-borne request that changes something may be forged, or ""."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.partition("://")[2] != request.host:
        return f"the request came from {origin}, not from this Seeker's page"
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type.startswith(_FORMS):
        field = (await request.post()).get(CSRF_FIELD, "")
        given = field if isinstance(field, str) else ""
    if not given or not hmac.compare_digest(given, operator.csrf):
        return "the CSRF token is missing or wrong: reload the page and try again"
    return ""


def set_session_cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(SESSION_S),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")
