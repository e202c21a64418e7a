"""Registering with the Seeker: a signed self-description (with an admission token
if the volunteer has one), answered with the Channel's URL and the Seeker's key.

Over HTTP when the Giver dials the Seeker; inside the session (a Register
message, answered by Registered) when a Seeker found the Giver on the LAN. A
Seeker that has not admitted this Giver yet answers 403 registration_pending;
the Giver keeps registering, with backoff, until an operator approves it.

A Giver that trusts a Seeker key already (given by its volunteer, or pinned)
first asks the Seeker which key it signs with (`GET /identity`), so a key that
does not match stops it at once instead of after an operator approved it.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from channel.errors import WireError
from channel.jsonweb import read_error
from channel.wire import canonical
from channel.wire.givers import Capabilities, GiverInfo
from channel.wire.identity import Identity
from channel.wire.messages import Registered
from channel.wire.models import field_of
from channel.wire.release import SEEKGIVE_VERSION
from giver.errors import RegistrationRefused, SeekerProtocolError
from giver.link.retry import Retry

log = logging.getLogger(__name__)

REGISTER_PATH = "/api/v1/givers"
IDENTITY_PATH = "/api/v1/identity"
REQUEST_TIMEOUT_S = 30.0
RETRYABLE_STATUSES = (408, 429)
PENDING_CODE = "registration_pending"
TOO_OLD_CODE = "giver_too_old"
# How long a Giver refused for its release waits before it asks again: the
# volunteer must upgrade first, which no quick retry changes.
TOO_OLD_RETRY_S = 600.0


@dataclass(frozen=True, slots=True)
class Registration:
    """The Seeker's answer: the id it knows this Giver by, where results go, the
    key the Seeker signs tasks with, and the Seeker's URL (where images this Giver
    lacks are fetched; empty if the Seeker named none)."""

    giver_id: str
    channel_url: str
    seeker_key: str
    seeker_url: str = ""


async def register(
    http: aiohttp.ClientSession,
    seeker_url: str,
    identity: Identity,
    *,
    name: str,
    volunteer: str,
    capabilities: Capabilities,
    retry_max_s: float,
    token: str = "",
    check_key: Callable[[str, str], None] | None = None,
    refused: Callable[[str], None] = lambda message: None,
) -> Registration:
    """Register with the Seeker, retrying while it cannot be reached or has not
    admitted this Giver yet. With `check_key`, the key the Seeker names at
    /identity goes to `check_key(key, seeker_url)` first, which raises to stop.
    A Seeker that refuses this Giver's release is told of to `refused(message)`
    (logged once) and asked again every TOO_OLD_RETRY_S or so; `refused("")`
    once it admits it.

    Raises RegistrationRefused when the Seeker answers with another client error.
    """
    url = seeker_url.rstrip("/") + REGISTER_PATH
    retry = Retry(log, retry_max_s)
    pending = Retry(log, retry_max_s)
    too_old = Retry(log, TOO_OLD_RETRY_S, initial_s=TOO_OLD_RETRY_S)
    while check_key is not None:
        try:
            named = await _named_key(http, seeker_url.rstrip("/") + IDENTITY_PATH)
        except (aiohttp.ClientError, TimeoutError) as e:
            await retry.after_failure("cannot reach the Seeker at %s: %s", seeker_url, e)
            continue
        if named:
            check_key(named, seeker_url)
        break  # a Seeker that names no key here: its registration's answer is checked
    while True:
        body = signed_registration(
            identity, name=name, volunteer=volunteer, capabilities=capabilities
        )
        if token:
            body["token"] = token
        try:
            async with http.post(
                url,
                data=canonical.dumps(body),
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            ) as response:
                status, answer = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            await retry.after_failure("cannot register with the Seeker at %s: %s", url, e)
            continue
        if status == 200:
            if retry.succeeded():
                log.info("the Seeker at %s answers again", url)
            if pending.succeeded():
                log.info("the Seeker at %s admitted this Giver", url)
            if too_old.succeeded():
                refused("")
            return _registration(answer, identity.id, seeker_url, url)
        code, message = read_error(answer)
        if status == 403 and code == PENDING_CODE:
            await pending.after_failure(
                "waiting for admission by the Seeker at %s: %s", url, message
            )
            continue
        if status == 403 and code == TOO_OLD_CODE:
            refused(message)
            await too_old.after_failure("the Seeker at %s refuses this Giver: %s", url, message)
            continue
        if 400 <= status < 500 and status not in RETRYABLE_STATUSES:
            raise RegistrationRefused(status, message, code=code)
        await retry.after_failure(
            "the Seeker at %s answered %d to the registration: %s", url, status, message
        )


async def _named_key(http: aiohttp.ClientSession, url: str) -> str:
    """The key the Seeker answers at `url` (its /identity) that it signs with; ''
    if it answers no key."""
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as response:
        if response.status != 200:
            return ""
        try:
            return field_of(canonical.loads(await response.read()), "seeker_key", str, "identity")
        except WireError:
            return ""


def signed_registration(
    identity: Identity, *, name: str, volunteer: str, capabilities: Capabilities
) -> dict[str, Any]:
    """The registration body: this Giver's info, signed now with its key."""
    info = GiverInfo(
        giver_id=identity.id,
        public_key=identity.public_key,
        name=name,
        capabilities=capabilities,
        signed_at=time.time(),
        volunteer=volunteer,
        version=SEEKGIVE_VERSION,
    )
    return {"giver": info.to_wire(), "signature": identity.sign_value(info.to_wire())}


def registration_in_session(
    answer: Registered, giver_id: str, seeker_key: str, peer: str
) -> Registration:
    """The Registration a Seeker that dialled this Giver answered with (its key named
    in its challenge); SeekerProtocolError if it names another Giver, no absolute
    Channel URL, or a Seeker URL that is not absolute."""
    if answer.giver_id != giver_id:
        raise SeekerProtocolError(
            f"the Seeker at {peer} registered this Giver as {answer.giver_id}, not {giver_id}",
            url=peer,
        )
    named = {"Channel": answer.channel_url}
    if answer.seeker_url:  # a Seeker that delivers no images names none
        named["Seeker"] = answer.seeker_url
    for what, text in named.items():
        url = urlsplit(text)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise SeekerProtocolError(
                f"the Seeker at {peer} named no absolute {what} URL: {text!r}", url=peer
            )
    return Registration(giver_id, answer.channel_url, seeker_key, answer.seeker_url.rstrip("/"))


def _registration(answer: bytes, giver_id: str, seeker_url: str, url: str) -> Registration:
    try:
        body = canonical.loads(answer)
        registration = Registration(
            giver_id=field_of(body, "giver_id", str, "registration"),
            channel_url=field_of(body, "channel_url", str, "registration"),
            seeker_key=field_of(body, "seeker_key", str, "registration"),
        )
    except WireError as e:
        raise SeekerProtocolError(
            f"the Seeker at {url} answered the registration with something unexpected: {e}", url=url
        ) from e
    if registration.giver_id != giver_id:
        raise SeekerProtocolError(
            f"the Seeker at {url} registered this Giver as {registration.giver_id}, not {giver_id}",
            url=url,
        )
    # A relative Channel URL ("/channel") is served by the Seeker itself.
    channel_url = urljoin(seeker_url.rstrip("/") + "/", registration.channel_url)
    log.info(
        "registered with the Seeker at %s as %s; results go to %s",
        seeker_url,
        giver_id,
        channel_url,
    )
    return Registration(
        registration.giver_id, channel_url, registration.seeker_key, seeker_url.rstrip("/")
    )
