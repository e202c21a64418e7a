"""Registered Givers, the proof they give, and their live sessions."""

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from aiohttp import web

from channel.errors import ChannelError, WireError
from channel.store.base import Channel
from channel.wire import messages
from channel.wire.givers import Capabilities, GiverInfo
from channel.wire.identity import key_id, verify_value
from channel.wire.release import older_than
from seeker.errors import GiverTooOld, RegistrationError
from seeker.grid.admission import Admissions

log = logging.getLogger(__name__)
MAX_TOKEN_CHARS = 200

# A session's connection: accepted from a Giver that dialled, or dialled to one found on the LAN.
WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


def verify_registration(body: Any, now: float, max_skew_s: float) -> GiverInfo:
    """Check a registration body `{"giver": GiverInfo, "signature": str}` (and an
    optional admission `"token"`, see `registration_token`).

    The Giver proves it holds the key its id derives from by signing its info,
    including a recent timestamp.
    """
    if not isinstance(body, dict) or set(body) - {"token"} != {"giver", "signature"}:
        raise RegistrationError(
            "registration must be an object with giver and signature (and optionally token)"
        )
    try:
        info = GiverInfo.from_wire(body["giver"])
        derived = key_id(info.public_key)
    except ChannelError as e:
        raise RegistrationError(str(e)) from e
    if derived != info.giver_id:
        raise RegistrationError(
            f"giver id {info.giver_id} does not derive from its public key", giver_id=info.giver_id
        )
    if not isinstance(body["signature"], str) or not verify_value(
        info.public_key, body["giver"], body["signature"]
    ):
        raise RegistrationError("registration signature does not verify", giver_id=info.giver_id)
    if abs(now - info.signed_at) > max_skew_s:
        raise RegistrationError(
            f"registration signed {now - info.signed_at:+.0f} s from the Seeker's clock; "
            f"check the Giver's clock (allowed skew {max_skew_s:.0f} s)",
            giver_id=info.giver_id,
        )
    return info


def registration_token(body: dict[str, Any]) -> str:
    """The admission token a (verified) registration body brings, or ''."""
    token = body.get("token", "")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise RegistrationError(f"token must be a string of at most {MAX_TOKEN_CHARS} characters")
    return token


# A Giver whose connection takes longer than this to take a message is dropped,
# so one stuck connection cannot hold up assignments to every other Giver.
SEND_TIMEOUT_S = 10.0


class GiverSession:
    """One open WebSocket session with a Giver, whichever side dialled."""

    def __init__(self, giver_id: str, ws: WebSocket) -> None:
        self.giver_id = giver_id
        self._ws = ws
        # Diagnose messages sent, by nonce, waiting for the Giver's Diagnosis.
        self._asked: dict[str, asyncio.Future[messages.Diagnosis]] = {}

    @property
    def closed(self) -> bool:
        return self._ws.closed

    async def send(self, message: messages.Message) -> None:
        """Send `message`; raise ConnectionError if the session is gone."""
        if self._ws.closed:
            raise ConnectionError(f"session with giver {self.giver_id} is closed")
        await self._ws.send_bytes(messages.encode(message))

    async def close(self, reason: str = "seeker stopping") -> None:
        await self._ws.close(code=1001, message=reason.encode())

    async def diagnose(self) -> messages.Diagnosis:
        """Ask the Giver how its Docker Engine is doing and wait for its answer (the
        caller sets the deadline: a Giver that does not know the question never
        answers); ConnectionError if the session is gone."""
        nonce = secrets.token_urlsafe(12)
        answer = asyncio.get_running_loop().create_future()
        self._asked[nonce] = answer
        try:
            await self.send(messages.Diagnose(nonce))
            return await answer
        finally:
            del self._asked[nonce]

    def answered(self, diagnosis: messages.Diagnosis) -> None:
        """The Giver's Diagnosis: the answer to the Diagnose it names, if that is
        still awaited; dropped otherwise."""
        answer = self._asked.get(diagnosis.nonce)
        if answer is None or answer.done():
            log.debug("giver %s: a diagnosis nobody waits for", self.giver_id)
            return
        answer.set_result(diagnosis)


@dataclass(slots=True)
class GiverEntry:
    info: GiverInfo
    registered_at: float
    last_seen: float
    session: GiverSession | None = None
    # Contacts in a row that failed: checks without a live session, sends that failed.
    failed_contacts: int = 0
    # Jobs the Giver refused by its policy, with its reason: it is offered none of
    # their tasks until it registers again (it reads its settings when it starts)
    # or reports new capabilities.
    refused_jobs: dict[str, str] = field(default_factory=dict)

    @property
    def online(self) -> bool:
        return self.session is not None and not self.session.closed


class Registrar:
    """Admits Givers: the one way in, for a Giver that registers over HTTP and for one
    the Seeker found on the LAN (whose session carries the same registration)."""

    def __init__(
        self,
        channel: Channel,
        givers: "GiverRegistry",
        admissions: Admissions,
        *,
        max_skew_s: float,
        min_giver_version: str = "",
    ) -> None:
        self.givers = givers
        self._min_giver_version = min_giver_version
        self._channel = channel
        self._admissions = admissions
        self._max_skew_s = max_skew_s

    async def register(self, body: Any) -> GiverInfo:
        """Check a registration body (see verify_registration), admit the Giver (see
        Admissions.decide) and record it with the Channel and the registry; raises
        RegistrationError (RegistrationPending while it waits for approval,
        GiverTooOld if it runs a release older than `min_giver_version`), or
        StoreUnavailable when a store cannot record it."""
        now = time.time()
        info = verify_registration(body, now, self._max_skew_s)
        minimum = self._min_giver_version
        if older_than(info.version, minimum):
            raise GiverTooOld(
                f"giver {info.giver_id} runs "
                f"{f'seekgive {info.version}' if info.version else 'a seekgive too old to say'}; "
                f"this Seeker takes Givers of seekgive {minimum} or newer: upgrade seekgive "
                f"on the Giver to {minimum} or newer",
                giver_id=info.giver_id,
            )
        await self._admissions.decide(info, registration_token(body), now)
        await self._channel.register_giver(info.giver_id, info.public_key)
        new = self.givers.get(info.giver_id) is None
        self.givers.register(info)
        self._admissions.arrivals.registered(info, new=new)
        return info


class GiverRegistry:
    """Every Giver that registered, and the session each one has open."""

    def __init__(self) -> None:
        self._givers: dict[str, GiverEntry] = {}

    def register(self, info: GiverInfo) -> GiverEntry:
        now = time.time()
        entry = self._givers.get(info.giver_id)
        if entry is None:
            entry = self._givers[info.giver_id] = GiverEntry(info, now, now)
        else:
            entry.info, entry.last_seen = info, now
            entry.refused_jobs.clear()
        return entry

    def report(self, giver_id: str, capabilities: Capabilities) -> None:
        """A Giver's capabilities changed (an image pulled, slots or labels changed)."""
        entry = self._givers.get(giver_id)
        if entry is not None and entry.info.capabilities != capabilities:
            entry.info = replace(entry.info, capabilities=capabilities)
            entry.refused_jobs.clear()
            log.debug("giver %s reports new capabilities", giver_id)

    def refused_job(self, giver_id: str, job_id: str, reason: str) -> None:
        """The Giver refused a task of the job by its policy: offer it no more."""
        entry = self._givers.get(giver_id)
        if entry is not None:
            entry.refused_jobs[job_id] = reason

    def contacted(self, giver_id: str) -> None:
        entry = self._givers.get(giver_id)
        if entry is not None:
            entry.failed_contacts = 0

    def contact_failed(self, giver_id: str) -> int:
        """Count a failed contact; how many in a row now."""
        entry = self._givers.get(giver_id)
        if entry is None:
            return 0
        entry.failed_contacts += 1
        return entry.failed_contacts

    def purge(self, giver_id: str) -> GiverEntry | None:
        """Forget a Giver; it must register again to get work."""
        return self._givers.pop(giver_id, None)

    def entries(self) -> list[GiverEntry]:
        return list(self._givers.values())

    def seen(self, giver_id: str) -> None:
        """Note that `giver_id` just sent something."""
        entry = self._givers.get(giver_id)
        if entry is not None:
            entry.last_seen = time.time()

    def get(self, giver_id: str) -> GiverEntry | None:
        return self._givers.get(giver_id)

    def attach(self, session: GiverSession) -> GiverSession | None:
        """Make `session` the Giver's live session; return the one it replaces."""
        entry = self._givers[session.giver_id]
        previous, entry.session, entry.last_seen = entry.session, session, time.time()
        return previous

    def detach(self, session: GiverSession) -> None:
        entry = self._givers.get(session.giver_id)
        if entry is not None and entry.session is session:
            entry.session, entry.last_seen = None, time.time()

    def online(self) -> list[GiverEntry]:
        return [entry for entry in self._givers.values() if entry.online]

    def sessions(self) -> list[GiverSession]:
        return [e.session for e in self._givers.values() if e.session is not None]

    def view(self) -> list[dict[str, Any]]:
        return [
            {
                "giver_id": e.info.giver_id,
                "name": e.info.name,
                "online": e.online,
                "registered_at": e.registered_at,
                "last_seen": e.last_seen,
                "volunteer": e.info.volunteer,
                "version": e.info.version,
                "capabilities": e.info.capabilities.to_wire(),
                "failed_contacts": e.failed_contacts,
            }
            for e in self._givers.values()
        ]


def decode_or_none(data: bytes | str, giver_id: str) -> messages.Message | None:
    """Decode a session frame, logging and dropping one that is malformed."""
    try:
        return messages.decode(data)
    except WireError as e:
        log.warning("giver %s sent a malformed message: %s", giver_id, e)
        return None


async def deliver(session: GiverSession, message: messages.Message) -> Exception | None:
    """Send `message` over `session` within SEND_TIMEOUT_S; why it did not go, or None."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await session.send(message)
    except (ConnectionError, RuntimeError, TimeoutError) as e:
        return e
    return None
