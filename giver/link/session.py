"""The WebSocket session with the Seeker, whichever side dialled.

The Seeker opens with a Challenge naming its key, which `on_challenge` checks
(raising to end the session); the Giver answers with a signed Hello.
When the Seeker dialled (it found this Giver on the LAN), the Giver first
introduces itself with a Register (the signed registration it would
otherwise post over HTTP) and the Seeker answers the Hello with Registered,
saying where results go. Then the Seeker assigns and cancels tasks, and the
Giver accepts, refuses, reports progress and says when a result is in the
Channel. Messages for the Seeker go through a queue of the live connection;
while there is none they are dropped (the Seeker polls the Channel by task
id anyway); `on_open` hears when a connection is ready to take them.
`drain()` waits until what is queued has been written, for messages that
must go out before the Giver closes the session.

`Session` is that one session; `Dialler` dials the Seeker and redials when
it drops, and giver/link/listener.py serves a Seeker that dials this Giver.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from channel.errors import WireError
from channel.jsonweb import retry_after_s
from channel.wire.identity import Identity
from channel.wire.messages import Challenge, Hello, Message, Register, Registered, decode, encode
from giver.errors import SeekerProtocolError, UnknownGiver
from giver.link.registration import Registration, registration_in_session
from giver.link.retry import Retry

log = logging.getLogger(__name__)

SESSION_PATH = "/api/v1/givers/{giver_id}/session"
HEARTBEAT_S = 15.0
HANDSHAKE_TIMEOUT_S = 10.0
# A session counts as established (resetting the redial backoff) once it has
# lasted this long: a Seeker that closes it right after the hello is a failure.
STABLE_SESSION_S = 10.0
# How long a session replaced by a newer one waits for its Seeker's close frame.
REPLACED_CLOSE_TIMEOUT_S = 2.0

MessageHandler = Callable[[Message], Awaitable[None]]
WebSocket = aiohttp.ClientWebSocketResponse | web.WebSocketResponse


@dataclass(frozen=True, slots=True)
class Introduction:
    """What a Giver the Seeker dialled says before its Hello, and what it does with the answer."""

    registration: dict[str, Any]
    registered: Callable[[Registration], Awaitable[None]]


class Session:
    """The one session with a Seeker: `converse()` on each connection, whoever dialled it."""

    def __init__(
        self,
        identity: Identity,
        *,
        on_message: MessageHandler,
        on_challenge: Callable[[Challenge], None],
        on_open: Callable[[], None] | None = None,
    ) -> None:
        self._identity = identity
        self._on_message = on_message
        self._on_challenge = on_challenge
        self._on_open = on_open
        self._ws: WebSocket | None = None
        self._outgoing: asyncio.Queue[Message] | None = None
        self._writer: asyncio.Task[None] | None = None
        # For `giver status`: since when (wall clock) a session is open, and why the
        # last attempt at one failed.
        self.opened_at: float | None = None
        self.last_error = ""

    def send(self, message: Message) -> bool:
        """Queue `message` for the Seeker; False (and dropped) while no session is open."""
        if self._outgoing is None:
            log.debug("no session: dropping %s message", message.TYPE)
            return False
        self._outgoing.put_nowait(message)
        return True

    async def drain(self) -> bool:
        """Wait until every message queued so far is written to the connection;
        False if the connection dropped first (what was left is lost)."""
        outgoing, writer = self._outgoing, self._writer
        if outgoing is None or writer is None:
            return False
        written = asyncio.ensure_future(outgoing.join())
        try:
            await asyncio.wait({written, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            written.cancel()
        return written.done() and not written.cancelled()

    async def close(self) -> None:
        """Close the connection of the session open, if any (the Giver is stopping)."""
        ws = self._ws
        if ws is not None:
            await ws.close(code=1001, message=b"giver stopping")

    async def converse(
        self, ws: WebSocket, peer: str, introduction: Introduction | None = None
    ) -> float:
        """Answer the challenge on `ws` (introducing this Giver first when the Seeker
        dialled), then carry messages both ways until the connection closes; how long
        the session was open. A session already open is closed: the newer one wins.

        Raises SeekerProtocolError, or TimeoutError when the handshake stalls.
        """
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
            await self._handshake(ws, peer, introduction)
        previous, self._ws = self._ws, ws
        if previous is not None:
            log.info("a new session with the Seeker at %s replaces the one open", peer)
            try:
                async with asyncio.timeout(REPLACED_CLOSE_TIMEOUT_S):
                    await previous.close(code=1001, message=b"replaced by a new session")
            except TimeoutError:
                log.debug("the replaced session did not close in time; leaving it")
        opened_at = time.monotonic()
        self.opened_at = time.time()
        log.info("session with the Seeker at %s open", peer)
        outgoing: asyncio.Queue[Message] = asyncio.Queue()
        writer = asyncio.create_task(_write(ws, outgoing), name="giver-session-writer")
        self._outgoing, self._writer = outgoing, writer
        try:
            if self._on_open is not None:
                self._on_open()
            while (message := await _receive(ws)) is not None:
                await self._handle(message)
        finally:
            if self._outgoing is outgoing:
                self._ws = self._outgoing = self._writer = None
                self.opened_at = None
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        return time.monotonic() - opened_at

    async def _handshake(self, ws: WebSocket, peer: str, introduction: Introduction | None) -> None:
        challenge = await _receive(ws)
        if not isinstance(challenge, Challenge):
            raise SeekerProtocolError(f"expected a challenge, got {_kind(challenge)}", url=peer)
        self._on_challenge(challenge)
        giver_id = self._identity.id
        if introduction is not None:
            await ws.send_bytes(encode(Register(**introduction.registration)))
        signature = self._identity.sign_value(Hello.signed_value(giver_id, challenge.nonce))
        await ws.send_bytes(encode(Hello(giver_id, signature)))
        if introduction is None:
            return
        answer = await _receive(ws)
        if not isinstance(answer, Registered):
            raise SeekerProtocolError(f"expected registered, got {_kind(answer)}", url=peer)
        await introduction.registered(
            registration_in_session(answer, giver_id, challenge.seeker_key, peer)
        )

    async def _handle(self, message: Message) -> None:
        try:
            await self._on_message(message)
        except Exception:
            log.exception("session: handling a %s message failed", message.TYPE)


class Dialler:
    """Dials the Seeker at `seeker_url` and keeps a session open; `run()` until cancelled."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        seeker_url: str,
        session: Session,
        *,
        giver_id: str,
        reconnect_max_s: float,
        register: Callable[[], Awaitable[object]],
    ) -> None:
        self.url = seeker_url.rstrip("/") + SESSION_PATH.format(giver_id=giver_id)
        self._http = http
        self._session = session
        self._giver_id = giver_id
        self._reconnect_max_s = reconnect_max_s
        self._register = register

    async def run(self) -> None:
        """Dial, serve and redial with backoff until cancelled.

        Registers again when the Seeker does not know this Giver; raises
        RegistrationRefused if it then refuses the registration.
        """
        retry = Retry(log, self._reconnect_max_s)
        while True:
            try:
                open_s = await self._serve_once()
            except UnknownGiver as e:
                self._session.last_error = str(e)
                await retry.after_failure("session: %s; registering again", e)
                await self._register()
                continue
            except (aiohttp.ClientError, OSError, TimeoutError, SeekerProtocolError) as e:
                self._session.last_error = str(e) or type(e).__name__
                await retry.after_failure(
                    "session with the Seeker at %s failed: %s", self.url, e, asked_s=_asked_wait(e)
                )
                continue
            if open_s >= STABLE_SESSION_S:
                retry.succeeded()
            self._session.last_error = "the Seeker closed the session"
            await retry.after_failure("session with the Seeker at %s closed", self.url)

    async def _serve_once(self) -> float:
        try:
            ws = await self._http.ws_connect(self.url, heartbeat=HEARTBEAT_S)
        except aiohttp.WSServerHandshakeError as e:
            if e.status == 404:
                raise UnknownGiver(self._giver_id) from e
            raise
        async with ws:
            return await self._session.converse(ws, self.url)


def _asked_wait(e: BaseException) -> float | None:
    """The wait a refused session's 503 asked for (Retry-After), if it asked."""
    if isinstance(e, aiohttp.WSServerHandshakeError) and e.status == 503 and e.headers:
        return retry_after_s(e.headers.get("Retry-After"))
    return None


def _kind(message: Message | None) -> str:
    return "a close" if message is None else f"a {message.TYPE} message"


async def _receive(ws: WebSocket) -> Message | None:
    """The next message from the Seeker, or None once the connection is closed."""
    while True:
        frame = await ws.receive()
        if frame.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            try:
                return decode(frame.data)
            except WireError as e:
                log.warning("session: ignoring a malformed message from the Seeker: %s", e)
        elif frame.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        ):
            return None


async def _write(ws: WebSocket, outgoing: "asyncio.Queue[Message]") -> None:
    """Send queued messages in order; on a send error, close so the reader sees it."""
    try:
        while True:
            await ws.send_bytes(encode(await outgoing.get()))
            outgoing.task_done()  # only once written: drain() then ends with the writer
    except (aiohttp.ClientError, OSError) as e:
        log.debug("session: sending failed: %s", e)
        await ws.close()
