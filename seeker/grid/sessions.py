"""A Giver's session, whichever side dialled: challenge, proof, attach, messages.

The Seeker sends a Challenge naming the key it signs tasks with; the Giver
answers with a Hello signing its nonce with the key its id derives from.
When the Seeker dialled (it found the Giver on the LAN) the Giver registers
first, in the session: a Register carrying the very body of an HTTP
registration, admitted by the same Registrar; once the Hello verifies, the
Seeker answers with Registered, naming the Channel URL results go to. Then
the session is attached to the Coordinator and carries messages both ways
until it closes.
"""

import asyncio
import logging
import secrets

from aiohttp import WSMsgType

from channel.errors import StoreUnavailable
from channel.wire import messages
from channel.wire.identity import verify_value
from seeker.errors import RegistrationError, SeekerError
from seeker.grid.coordinator import Coordinator
from seeker.grid.registry import GiverSession, Registrar, WebSocket, decode_or_none

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0
CLOSE_PROOF_REFUSED = 4003
CLOSE_NO_HELLO = 4008
CLOSE_TRY_LATER = 1013


class Sessions:
    """Serves Giver sessions: the one implementation behind the session endpoint
    (the Giver dialled) and discovery (the Seeker dialled)."""

    def __init__(self, registrar: Registrar, coordinator: Coordinator) -> None:
        self.registrar = registrar
        self._coordinator = coordinator

    async def serve(
        self,
        ws: WebSocket,
        giver_id: str,
        *,
        channel_url: str | None = None,
        seeker_url: str = "",
    ) -> bool:
        """Run the session with `giver_id` on `ws` until it closes; whether the Giver
        proved itself. `channel_url` is given when the Seeker dialled: the Giver must
        then register in the session, and hears that URL back, with `seeker_url`
        (where it fetches the images it lacks)."""
        nonce = secrets.token_urlsafe(24)
        seeker_key = self._coordinator.identity.public_key
        await ws.send_bytes(messages.encode(messages.Challenge(nonce, seeker_key)))
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_S):
                hello = await self._hello(ws, giver_id, registering=channel_url is not None)
        except TimeoutError:
            await ws.close(code=CLOSE_NO_HELLO, message=b"no hello in time")
            return False
        except RegistrationError as e:
            log.warning("giver %s: registration in the session refused: %s", giver_id, e)
            await ws.close(code=CLOSE_PROOF_REFUSED, message=b"registration refused")
            return False
        except StoreUnavailable as e:
            log.warning("giver %s: cannot register it now: %s", giver_id, e)
            await ws.close(code=CLOSE_TRY_LATER, message=b"results store unavailable")
            return False
        entry = self.registrar.givers.get(giver_id)
        if not (
            entry is not None
            and isinstance(hello, messages.Hello)
            and hello.giver_id == giver_id
            and verify_value(
                entry.info.public_key,
                messages.Hello.signed_value(giver_id, nonce),
                hello.signature,
            )
        ):
            log.warning("giver %s failed the session proof", giver_id)
            await ws.close(code=CLOSE_PROOF_REFUSED, message=b"session proof refused")
            return False
        if channel_url is not None:
            registered = messages.Registered(giver_id, channel_url, seeker_url)
            await ws.send_bytes(messages.encode(registered))
        await self._carry(ws, giver_id)
        return True

    async def close_all(self) -> None:
        """Close every open session (the Seeker is stopping or standing by)."""
        await asyncio.gather(
            *(s.close() for s in self.registrar.givers.sessions()), return_exceptions=True
        )

    async def _hello(
        self, ws: WebSocket, giver_id: str, *, registering: bool
    ) -> messages.Message | None:
        """The Giver's answer to the challenge; registered first when `registering`."""
        first = await _next(ws, giver_id)
        if not registering:
            return first
        if not isinstance(first, messages.Register):
            raise RegistrationError("a Giver the Seeker dialled must register first")
        registering_as = first.giver.get("giver_id")
        if registering_as != giver_id:
            raise RegistrationError(
                f"advertised as {giver_id} but registers as {registering_as}", giver_id=giver_id
            )
        await self.registrar.register(first.body())
        return await _next(ws, giver_id)

    async def _carry(self, ws: WebSocket, giver_id: str) -> None:
        session = GiverSession(giver_id, ws)
        coordinator = self._coordinator
        previous = coordinator.attach(session)
        if previous is not None:
            await previous.close()
        log.info("giver %s session open", giver_id)
        try:
            async for frame in ws:
                if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    message = decode_or_none(frame.data, giver_id)
                    if message is None:
                        continue
                    if isinstance(message, messages.Diagnosis):
                        session.answered(message)
                        continue
                    try:
                        await coordinator.on_message(giver_id, message)
                    except (SeekerError, StoreUnavailable) as e:
                        log.warning("giver %s: cannot handle its %s: %s", giver_id, message.TYPE, e)
        finally:
            coordinator.detach(session)
            log.info("giver %s session closed", giver_id)


async def _next(ws: WebSocket, giver_id: str) -> messages.Message | None:
    """The next frame as a message; None for a close or a malformed frame."""
    frame = await ws.receive()
    if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
        return decode_or_none(frame.data, giver_id)
    return None
