"""What the Channel's HTTP routes share: the open Channel, the reader a request's
token names, answers streamed a piece at a time, and draining refused bodies."""

from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from channel.store.base import Channel
from channel.store.readers import Reader

CHANNEL = web.AppKey("channel", Channel)
NDJSON = "application/x-ndjson"


async def reader_of(request: web.Request) -> Reader:
    """The reader whose bearer token came with the request; 401 without a valid one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise web.HTTPUnauthorized(
            text="reading needs a reader token: Authorization: Bearer TOKEN",
            headers={"WWW-Authenticate": "Bearer"},
        )
    reader = await request.app[CHANNEL].reader(token.strip())
    if reader is None:
        raise web.HTTPUnauthorized(
            text="the reader token is unknown, revoked or expired",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return reader


async def stream(
    request: web.Request,
    chunks: AsyncIterator[bytes],
    content_type: str,
    filename: str = "",
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Answer with `chunks` as they come, as a download named `filename` if given."""
    sent = {"Content-Type": content_type, **(headers or {})}
    if filename:
        sent["Content-Disposition"] = f'attachment; filename="{filename}"'
    response = web.StreamResponse(headers=sent)
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def drain(request: web.Request, limit_bytes: int) -> None:
    """Read and drop what is left of a body, when its size is known and within
    `limit_bytes`, so a client refused early reads the answer instead of a reset
    connection."""
    length = request.content_length
    if length is not None and length <= limit_bytes:
        async for _ in request.content.iter_any():
            pass
