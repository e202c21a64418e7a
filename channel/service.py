"""The Channel's HTTP service: Givers post signed results without database access.

Mounted inside the Seeker by default (under /channel/), or run on its own with
`channel serve`.
"""

from aiohttp import web

from channel import canonical
from channel.base import Channel
from channel.errors import (
    InvalidResult,
    ResultConflict,
    ResultTooLarge,
    StoreUnavailable,
    WireError,
)
from channel.jsonweb import error_middleware, error_response, json_response
from channel.models import Result

CHANNEL = web.AppKey("channel", Channel)
DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024


def make_app(
    channel: Channel, *, max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES
) -> web.Application:
    """The service's aiohttp application over an open `channel`."""
    app = web.Application(client_max_size=max_result_bytes, middlewares=[error_middleware])
    app[CHANNEL] = channel
    app.router.add_post("/v1/results", post_result)
    return app


async def post_result(request: web.Request) -> web.Response:
    """Store a signed result; answer with its acknowledgement."""
    try:
        result = Result.from_wire(canonical.loads(await request.read()))
    except WireError as e:
        return error_response(400, "bad_result", str(e))
    try:
        ack = await request.app[CHANNEL].put_result(result)
    except WireError as e:
        return error_response(400, "bad_result", str(e))
    except ResultTooLarge as e:
        return error_response(413, "result_too_large", str(e))
    except InvalidResult as e:
        return error_response(403, "invalid_result", str(e))
    except ResultConflict as e:
        return error_response(409, "result_conflict", str(e))
    except StoreUnavailable:
        return error_response(503, "store_unavailable", "the results store is unavailable")
    return json_response(ack.to_wire())
