"""The Seeker's routes for reader tokens: who may read which jobs and datasets
from the Channel (`/api/v1/readers`)."""

from aiohttp import web

from channel.errors import WireError
from channel.jsonweb import json_response, read_json
from channel.store.base import Channel
from channel.store.readers import scope_names
from channel.wire.tokens import read_request
from seeker.api.parts import parts
from seeker.errors import InvalidTokenRequest, UnknownReader

_FIELDS = ("label", "expires_in_s", "jobs", "datasets", "upload")


def add_reader_routes(app: web.Application) -> None:
    app.router.add_post("/readers", issue_reader)
    app.router.add_get("/readers", list_readers)
    app.router.add_post("/readers/{token_id}/revoke", revoke_reader)


def _channel(request: web.Request) -> Channel:
    return parts(request).coordinator.keys.channel


async def issue_reader(request: web.Request) -> web.Response:
    """A new reader token: `{"jobs"?, "datasets"?, "upload"?, "label"?,
    "expires_in_s"?}`; the answer holds the token, which is never shown again."""
    body = await read_json(request)
    asked = read_request(body, what="reader token", fields=_FIELDS, error=InvalidTokenRequest)
    upload = body.get("upload", False)
    if not isinstance(upload, bool):
        raise InvalidTokenRequest("upload must be true or false", field="upload")
    try:
        token, reader = await _channel(request).issue_reader(
            label=asked.label,
            jobs=scope_names(body.get("jobs", []), "jobs"),
            datasets=scope_names(body.get("datasets", []), "datasets"),
            upload=upload,
            expires_in_s=asked.expires_in_s,
        )
    except WireError as e:
        raise InvalidTokenRequest(str(e), field="") from e
    return json_response({**reader.to_wire(), "token": token}, status=201)


async def list_readers(request: web.Request) -> web.Response:
    return json_response({"readers": [r.to_wire() for r in await _channel(request).readers()]})


async def revoke_reader(request: web.Request) -> web.Response:
    token_id = request.match_info["token_id"]
    reader = await _channel(request).revoke_reader(token_id)
    if reader is None:
        raise UnknownReader(token_id)
    return json_response(reader.to_wire())
