"""GET /admin/events: the live snapshot as server-sent events, sent when it
changes, with a comment line as heartbeat in between. A stream ends when its
client goes away or the Seeker shuts down."""

import logging

from aiohttp import web

from seeker.admin.live import LiveFeed

log = logging.getLogger(__name__)

FEED = web.AppKey("feed", LiveFeed)
HEARTBEAT_S = 15.0
# How long a browser waits before it reconnects a dropped stream.
RETRY_MS = 2000


def frame(data: bytes) -> bytes:
    return b"event: snapshot\ndata: " + data + b"\n\n"


async def events(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    version = feed.version
    try:
        await response.write(
            f"retry: {RETRY_MS}\n\n".encode() + (frame(feed.data) if feed.data else b"")
        )
        while not feed.closing.is_set():
            fresh = await feed.wait(version, HEARTBEAT_S)
            transport = request.transport
            if feed.closing.is_set() or transport is None or transport.is_closing():
                break
            if fresh:
                version = feed.version
                await response.write(frame(feed.data))
            else:
                await response.write(b": heartbeat\n\n")
    except ConnectionResetError:
        log.debug("an event stream's client went away")
    return response
