"""The JSON API's admission token routes: issue, list and revoke the tokens that
let Givers in (seeker.grid.admission)."""

import time

from aiohttp import web

from channel.jsonweb import json_response, read_json
from channel.wire.tokens import read_request
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
    asked = read_request(
        await read_json(request),
        what="token",
        fields=("label", "expires_in_s", "uses"),
        error=InvalidTokenRequest,
    )
    now = time.time()
    token, doc = await parts(request).admissions.issue(
        now, label=asked.label, expires_in_s=asked.expires_in_s, uses=asked.uses
    )
    return json_response({**token_view(doc, now), "token": token}, status=201)


async def list_tokens(request: web.Request) -> web.Response:
    return json_response({"tokens": await parts(request).admissions.tokens(time.time())})


async def revoke_token(request: web.Request) -> web.Response:
    now = time.time()
    doc = await parts(request).admissions.revoke_token(request.match_info["token_id"], now)
    return json_response(token_view(doc, now))
