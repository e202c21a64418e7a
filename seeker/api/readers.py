"""The Seeker's routes for reader tokens: who may read which jobs and datasets
from the Channel (`/api/v1/readers`)."""

from aiohttp import web

from channel.errors import WireError
from channel.jsonweb import json_response, read_json
from channel.store.base import Channel
from channel.store.readers import scope_names
from seeker.api.parts import parts
from seeker.errors import InvalidTokenRequest, UnknownReader

_FIELDS = {"label", "jobs", "datasets", "upload", "expires_in_s"}


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
    if not isinstance(body, dict) or set(body) - _FIELDS:
        raise InvalidTokenRequest(
            f"a reader token request is an object with {', '.join(sorted(_FIELDS))}",
            field="",
        )
    label, upload, expires_in_s = (
        body.get("label", ""),
        body.get("upload", False),
        body.get("expires_in_s"),
    )
    if not isinstance(label, str):
        raise InvalidTokenRequest("label must be a string", field="label")
    if not isinstance(upload, bool):
        raise InvalidTokenRequest("upload must be true or false", field="upload")
    if expires_in_s is not None and (
        isinstance(expires_in_s, bool) or not isinstance(expires_in_s, int | float)
    ):
        raise InvalidTokenRequest("expires_in_s must be a number of seconds", field="expires_in_s")
    try:
        token, reader = await _channel(request).issue_reader(
            label=label,
            jobs=scope_names(body.get("jobs", []), "jobs"),
            datasets=scope_names(body.get("datasets", []), "datasets"),
            upload=upload,
            expires_in_s=expires_in_s,
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
