"""The JSON API's admission token routes: issue, list and revoke the tokens that
let Givers in (seeker.grid.admission)."""

import time

from aiohttp import web

from channel.jsonweb import json_response, read_json
from seeker.api.parts import parts
from seeker.errors import InvalidTokenRequest
from seeker.grid.admission import token_view


def add_token_routes(app: web.Application) -> None:
    app.router.add_post("/tokens", issue_token)
    app.router.add_get("/tokens", list_tokens)
    app.router.add_post("/tokens/{token_id}/revoke", revoke_token)


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
    token, doc = await parts(request).admissions.issue(
        now, label=label, expires_in_s=expires_in_s, uses=uses
    )
    return json_response({**token_view(doc, now), "token": token}, status=201)


async def list_tokens(request: web.Request) -> web.Response:
    return json_response({"tokens": await parts(request).admissions.tokens(time.time())})


async def revoke_token(request: web.Request) -> web.Response:
    now = time.time()
    doc = await parts(request).admissions.revoke_token(request.match_info["token_id"], now)
    return json_response(token_view(doc, now))
