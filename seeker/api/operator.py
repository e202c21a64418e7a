"""The JSON API's operator routes: who is asking, operator tokens, the password."""

import time

from aiohttp import web

from channel.jsonweb import json_response, read_json
from channel.wire.tokens import read_request
from seeker.access.auth import operator_of
from seeker.api.parts import parts
from seeker.errors import InvalidOperatorRequest


def add_operator_routes(app: web.Application) -> None:
    app.router.add_get("/operator", whoami)
    app.router.add_get("/operator/tokens", list_tokens)
    app.router.add_post("/operator/tokens", issue_token)
    app.router.add_post("/operator/tokens/{token_id}/revoke", revoke_token)
    app.router.add_put("/operator/password", set_password)


async def whoami(request: web.Request) -> web.Response:
    """How the request was let in: `via` a password session, a token, the fixed token."""
    operator = operator_of(request)
    return json_response({"via": operator.via, "session": operator.session})


async def list_tokens(request: web.Request) -> web.Response:
    return json_response({"tokens": await parts(request).operators.tokens(time.time())})


async def issue_token(request: web.Request) -> web.Response:
    """A new operator token: `{"label"?, "expires_in_s"?}`; the answer holds the
    token itself, which is never shown again."""
    asked = read_request(
        await read_json(request),
        what="token",
        fields=("label", "expires_in_s"),
        error=InvalidOperatorRequest,
    )
    token, view = await parts(request).operators.issue(
        time.time(), label=asked.label, expires_in_s=asked.expires_in_s
    )
    return json_response({**view, "token": token}, status=201)


async def revoke_token(request: web.Request) -> web.Response:
    """Revoke an operator token; the one this request comes with only with
    `{"force": true}` (409 own_operator_token without it)."""
    body = await read_json(request) if request.body_exists else {}
    revoked = await parts(request).operators.revoke(
        request.match_info["token_id"], time.time(), by=operator_of(request), force=_force(body)
    )
    return json_response(revoked)


def _force(body: object) -> bool:
    """Whether a revoke request (`{}` or `{"force": true}`) insists."""
    if (
        not isinstance(body, dict)
        or not set(body) <= {"force"}
        or not isinstance(body.get("force", False), bool)
    ):
        raise InvalidOperatorRequest('a revoke request is {} or {"force": true}', field="force")
    return bool(body.get("force", False))


async def set_password(request: web.Request) -> web.Response:
    """Set the operators' password (`{"password": ...}`); every session is signed out."""
    body = await read_json(request)
    if (
        not isinstance(body, dict)
        or set(body) != {"password"}
        or not isinstance(body["password"], str)
    ):
        raise InvalidOperatorRequest('a password request is {"password": TEXT}', field="password")
    await parts(request).operators.set_password(body["password"], time.time())
    return json_response({"password": "set", "sessions": "signed out"})
