"""The WebSocket session with the Seeker, dialled by the Giver and redialled when it drops.

The Seeker opens with a Challenge naming its key, which `on_challenge` checks
(raising to end the session for good); the Giver answers with a signed Hello.
Then the Seeker assigns and cancels tasks, and the Giver accepts, refuses,
reports progress and says when a result is in the Channel. Messages for the
Seeker go through a queue of the live connection; while there is none they
are dropped (the Seeker polls the Channel by task id anyway); `on_open` hears
when a connection is ready to take them. `drain()` waits until what is
queued has been written, for messages that must go out before the Giver
closes the session.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp

from channel.errors import WireError
from channel.identity import Identity
from channel.messages import Challenge, Hello, Message, decode, encode
from giver.errors import SeekerProtocolError, UnknownGiver
from giver.retry import Retry

log = logging.getLogger(__name__)

SESSION_PATH = "/api/v1/givers/{giver_id}/session"
HEARTBEAT_S = 15.0
HANDSHAKE_TIMEOUT_S = 10.0
# A session counts as established (resetting the redial backoff) once it has
# lasted this long: a Seeker that closes it right after the hello is a failure.
STABLE_SESSION_S = 10.0

MessageHandler = Callable[[Message], Awaitable[None]]


class Session:
    """Keeps one session with the Seeker open; `run()` until cancelled."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        seeker_url: str,
        identity: Identity,
        *,
        reconnect_max_s: float,
        on_message: MessageHandler,
        register: Callable[[], Awaitable[object]],
        on_challenge: Callable[[Challenge], None],
        on_open: Callable[[], None] | None = None,
    ) -> None:
        self.url = seeker_url.rstrip("/") + SESSION_PATH.format(giver_id=identity.id)
        self._http = http
        self._identity = identity
        self._reconnect_max_s = reconnect_max_s
        self._on_message = on_message
        self._register = register
        self._on_challenge = on_challenge
        self._on_open = on_open
        self._outgoing: asyncio.Queue[Message] | None = None
        self._writer: asyncio.Task[None] | None = None

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

    async def run(self) -> None:
        """Dial, serve and redial with backoff until cancelled.

        Registers again when the Seeker does not know this Giver; raises
        RegistrationRefused if it then refuses the registration.
        """
        retry = Retry(log, self._reconnect_max_s)
        while True:
            try:
                await self._serve_once(retry)
            except UnknownGiver as e:
                await retry.after_failure("session: %s; registering again", e)
                await self._register()
                continue
            except (aiohttp.ClientError, OSError, TimeoutError, SeekerProtocolError) as e:
                await retry.after_failure("session with the Seeker at %s failed: %s", self.url, e)
                continue
            await retry.after_failure("session with the Seeker at %s closed", self.url)

    async def _serve_once(self, retry: Retry) -> None:
        try:
            ws = await self._http.ws_connect(self.url, heartbeat=HEARTBEAT_S)
        except aiohttp.WSServerHandshakeError as e:
            if e.status == 404:
                raise UnknownGiver(self._identity.id) from e
            raise
        async with ws:
            challenge = await asyncio.wait_for(_receive(ws), HANDSHAKE_TIMEOUT_S)
            if not isinstance(challenge, Challenge):
                kind = "a close" if challenge is None else f"a {challenge.TYPE} message"
                raise SeekerProtocolError(f"expected a challenge, got {kind}", url=self.url)
            self._on_challenge(challenge)
            giver_id = self._identity.id
            signature = self._identity.sign_value(Hello.signed_value(giver_id, challenge.nonce))
            await ws.send_bytes(encode(Hello(giver_id, signature)))
            opened_at = time.monotonic()
            log.info("session with the Seeker at %s open", self.url)
            outgoing: asyncio.Queue[Message] = asyncio.Queue()
            writer = asyncio.create_task(_write(ws, outgoing), name="giver-session-writer")
            self._outgoing, self._writer = outgoing, writer
            try:
                if self._on_open is not None:
                    self._on_open()
                while (message := await _receive(ws)) is not None:
                    await self._handle(message)
            finally:
                self._outgoing = self._writer = None
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)
                if time.monotonic() - opened_at >= STABLE_SESSION_S:
                    retry.succeeded()

    async def _handle(self, message: Message) -> None:
        try:
            await self._on_message(message)
        except Exception:
            log.exception("session: handling a %s message failed", message.TYPE)


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> Message | None:
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


async def _write(ws: aiohttp.ClientWebSocketResponse, outgoing: "asyncio.Queue[Message]") -> None:
    """Send queued messages in order; on a send error, close so the reader sees it."""
    try:
        while True:
            await ws.send_bytes(encode(await outgoing.get()))
            outgoing.task_done()  # only once written: drain() then ends with the writer
    except (aiohttp.ClientError, OSError) as e:
        log.debug("session: sending failed: %s", e)
        await ws.close()
