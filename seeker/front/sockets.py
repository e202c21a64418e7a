"""Relaying WebSocket sessions (the Givers') to the leader, frame for frame.

The front makes its own handshake with the leader first, so that a refusal
(404: the Giver must register again; 503) reaches the client as the status the
leader gave. Text, binary and close frames (with their code) pass both ways, a
close answered only once the other side has been told. Each side is pinged on
its own, so that a peer gone silent ends the session on the other side too.
When the leader changes, every session relayed to the old one is closed with
1012 (service restart): its client dials again and reaches the new leader."""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from channel.jsonweb import error_response
from seeker.front.forward import STALE_CODE, Stale, request_headers, to_leader, upstream_url
from seeker.front.leader import LeaderWatch

log = logging.getLogger(__name__)

# Pings on each side of the front; a peer that misses a pong is gone.
HEARTBEAT_S = 20.0
MOVED_MESSAGE = b"the leader changed; connect again"


class Socket(Protocol):
    """What the front uses of either end of a WebSocket session."""

    @property
    def close_code(self) -> int | None: ...

    async def receive(self) -> WSMessage: ...
    async def send_str(self, data: str, compress: int | None = None) -> None: ...
    async def send_bytes(self, data: bytes, compress: int | None = None) -> None: ...
    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


@dataclass(eq=False)
class Relayed:
    """A session relayed to `upstream`; `moved` is set when another Seeker leads."""

    upstream: str
    moved: asyncio.Event = field(default_factory=asyncio.Event)


def is_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


class SocketRelay:
    """Relays WebSocket sessions to the leader `watch` knows, through `http`."""

    def __init__(self, http: aiohttp.ClientSession, watch: LeaderWatch) -> None:
        self._http = http
        self._watch = watch
        self._sessions: set[Relayed] = set()

    def leader_changed(self, leader: str | None) -> None:
        """Close every session relayed to a Seeker that is not `leader`."""
        for session in self._sessions:
            if session.upstream != leader:
                session.moved.set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        return await to_leader(self._watch, lambda upstream: self._relay(request, upstream))

    async def _relay(self, request: web.Request, upstream: str) -> web.StreamResponse:
        asked = request.headers.get("Sec-WebSocket-Protocol", "")
        protocols = [p.strip() for p in asked.split(",") if p.strip()]
        try:
            leader = await self._http.ws_connect(
                upstream_url(upstream, request),
                headers=request_headers(request),
                protocols=protocols,
                heartbeat=HEARTBEAT_S,
                max_msg_size=0,
                autoclose=False,
            )
        except aiohttp.WSServerHandshakeError as e:
            if e.status == 503:
                # Its body is gone with the handshake: a 503 there is a stale choice.
                raise Stale(error_response(503, STALE_CODE, e.message)) from e
            return error_response(e.status, "session_refused", f"the leader refused: {e.message}")
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as e:
            raise Stale(None) from e
        except aiohttp.ClientError as e:
            return error_response(502, "leader_failed", f"the leader failed to answer: {e}")
        async with leader:
            client = web.WebSocketResponse(
                protocols=[leader.protocol] if leader.protocol else [],
                heartbeat=HEARTBEAT_S,
                max_msg_size=0,
                autoclose=False,
            )
            await client.prepare(request)
            session = Relayed(upstream)
            self._sessions.add(session)
            try:
                await self._pipe_both(client, leader, session)
            finally:
                self._sessions.discard(session)
            return client

    async def _pipe_both(self, client: Socket, leader: Socket, session: Relayed) -> None:
        """Pass frames both ways until either side closes (the other is closed with the
        same code) or the leader changes."""
        if self._watch.current != session.upstream:
            session.moved.set()
        up = asyncio.create_task(_pipe(client, leader))
        down = asyncio.create_task(_pipe(leader, client))
        moved = asyncio.create_task(session.moved.wait())
        tasks = {up, down, moved}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # The side that closed hears back last, once the other has been told: it holds
        # its connection open until then.
        code: int
        if moved in done:
            code, message = WSCloseCode.SERVICE_RESTART, MOVED_MESSAGE
            order = (client, leader)
        elif up in done:
            (code, message), order = up.result(), (leader, client)
        else:
            (code, message), order = down.result(), (client, leader)
        for side in order:
            await side.close(code=code, message=message)


async def _pipe(source: Socket, sink: Socket) -> tuple[int, bytes]:
    """Send `source`'s frames to `sink` until either closes; the close code and
    message to end the session with."""
    while True:
        frame = await source.receive()
        try:
            if frame.type is WSMsgType.TEXT:
                await sink.send_str(frame.data)
            elif frame.type is WSMsgType.BINARY:
                await sink.send_bytes(frame.data)
        except ConnectionError:
            return WSCloseCode.GOING_AWAY, b""
        if frame.type is WSMsgType.CLOSE:
            return sendable(int(frame.data)), (frame.extra or "").encode()
        if frame.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return sendable(source.close_code), b""


def sendable(code: int | None) -> int:
    """`code` if a close frame may carry it, else 1001 (going away): 1005, 1006 and
    1015 only ever describe a connection locally (RFC 6455, section 7.4.1)."""
    if code is None or code < 1000 or code in (1004, 1005, 1006, 1015) or code >= 5000:
        return WSCloseCode.GOING_AWAY
    return code
