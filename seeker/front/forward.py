"""Forwarding one HTTP request to the leader and streaming its answer back.

Neither body is held whole: the request's streams up as it arrives, the
answer's back as the leader writes it (the admin page's live feed never ends).
A request the leader could not have acted on (its connection was refused; it
answered 503 `not_leader` to a request without a body; it went away before
answering a GET, HEAD or OPTIONS) is sent once more to the leader a fresh check
finds; with no leader the front answers 503 `no_leader`."""

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from channel.jsonweb import error_response, read_error
from seeker.front.headers import forwarded, passing
from seeker.front.leader import LeaderWatch

log = logging.getLogger(__name__)

T = TypeVar("T")
STALE_CODE = "not_leader"
# When a client told there is no leader may ask again: a takeover is a matter of
# seconds, and a check interval is about one.
RETRY_AFTER_S = 1
# Requests that change nothing: one the leader died on may be sent again.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Stale(Exception):
    """The upstream chosen does not lead (any more); `answer` is what it said, to pass
    on if the request cannot be sent again."""

    def __init__(self, answer: web.StreamResponse | None) -> None:
        super().__init__("the upstream chosen does not lead")
        self.answer = answer


def no_leader() -> web.Response:
    """503 `no_leader`, the client to try again after RETRY_AFTER_S."""
    response = error_response(
        503,
        "no_leader",
        "no Seeker leads just now (one is taking over, or none is running)",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def to_leader(
    watch: LeaderWatch, send: Callable[[str], Awaitable[T]]
) -> T | web.StreamResponse:
    """`send(upstream)` to the leader; if it raises Stale, once more to the one a
    fresh check chooses. 503 `no_leader` when none leads."""
    upstream = watch.current
    if upstream is None:
        return no_leader()
    try:
        return await send(upstream)
    except Stale:
        upstream = await watch.recheck()
    if upstream is None:
        return no_leader()
    try:
        return await send(upstream)
    except Stale as e:
        return e.answer or no_leader()


def upstream_url(upstream: str, request: web.Request) -> URL:
    """The URL of `request`'s path and query at `upstream`, encoded as the client sent it."""
    return URL(upstream + request.raw_path, encoded=True)


def request_headers(request: web.Request) -> CIMultiDict[str]:
    """The headers to send `request` on with."""
    return forwarded(
        request.headers.items(), peer=request.remote, scheme=request.scheme, host=request.host
    )


class Forwarder:
    """Forwards HTTP requests to the leader `watch` knows, through `http` (a session
    that keeps the bodies as they are: no decompression, no redirects followed)."""

    def __init__(self, http: aiohttp.ClientSession, watch: LeaderWatch) -> None:
        self._http = http
        self._watch = watch
        # The answers being streamed back, by the upstream they come from.
        self._streaming: dict[aiohttp.ClientResponse, str] = {}
        self._cut: set[aiohttp.ClientResponse] = set()

    def leader_changed(self, leader: str | None) -> None:
        """Cut every answer still streaming from a Seeker that is not `leader` (a live
        feed would go on showing what a Seeker standing by sees): its client asks
        again, and reaches the new leader."""
        for response, upstream in list(self._streaming.items()):
            if upstream != leader:
                self._cut.add(response)
                response.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        return await to_leader(self._watch, lambda upstream: self._send(request, upstream))

    async def _send(self, request: web.Request, upstream: str) -> web.StreamResponse:
        try:
            response = await self._http.request(
                request.method,
                upstream_url(upstream, request),
                headers=request_headers(request),
                data=request.content if request.body_exists else None,
                allow_redirects=False,
            )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as e:
            # Nothing reached it: the request may go elsewhere whole.
            log.debug("cannot reach the leader at %s: %s", upstream, e)
            raise Stale(None) from e
        except aiohttp.ClientError as e:
            if request.method in SAFE_METHODS:
                log.debug("the leader at %s went away: %s", upstream, e)
                raise Stale(None) from e
            log.warning(
                "%s %s: the leader at %s failed: %s", request.method, request.path, upstream, e
            )
            return error_response(502, "leader_failed", f"the leader failed to answer: {e}")
        async with response:
            if response.status == 503:
                return await self._unavailable(request, response)
            return await self._stream_back(request, response, upstream)

    async def _unavailable(
        self, request: web.Request, response: aiohttp.ClientResponse
    ) -> web.Response:
        """The leader's 503 as it was; Stale if it says it does not lead and the request
        may be sent again (its body was not read)."""
        body = await response.read()
        answer = web.Response(status=503, body=body, headers=passing(response.headers.items()))
        code, _ = read_error(body)
        if code == STALE_CODE and not request.body_exists:
            raise Stale(answer)
        return answer

    async def _stream_back(
        self, request: web.Request, response: aiohttp.ClientResponse, upstream: str
    ) -> web.StreamResponse:
        out = web.StreamResponse(
            status=response.status,
            reason=response.reason,
            headers=passing(response.headers.items()),
        )
        await out.prepare(request)
        self._streaming[response] = upstream
        try:
            async for chunk in response.content.iter_any():
                await out.write(chunk)
        except aiohttp.ClientError as e:
            if response not in self._cut:
                log.info("%s %s: the answer broke off: %s", request.method, request.path, e)
            self._cut.add(response)
        except ConnectionResetError:
            log.debug("%s %s: the client went away", request.method, request.path)
            return out
        finally:
            self._streaming.pop(response, None)
        if response in self._cut:
            # Cut off mid-answer: cut the client off too, rather than end it as if whole.
            self._cut.discard(response)
            if request.transport is not None:
                request.transport.close()
            return out
        await out.write_eof()
        return out
