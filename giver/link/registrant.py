"""How a Giver reaches a Seeker, registers with it and learns where its results go.

A Giver dials the Seeker at its URL, registering over HTTP first; in LAN mode
it listens, advertises itself over mDNS, and introduces itself to the Seeker
that dialled it. Either way it says what this machine offers now, checks
that the Seeker names the key this Giver trusts (pinning it on first
contact), and opens the outbox towards the Channel the Seeker names.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

import aiohttp

from channel.service.client import ChannelClient
from channel.wire.givers import MAX_LABEL_VALUE_CHARS, Capabilities
from channel.wire.identity import Identity
from channel.wire.lan import Advert
from channel.wire.messages import Challenge
from channel.wire.results import Result
from giver.egress.traffic import Traffic
from giver.errors import GiverError
from giver.link.advertiser import Advertiser
from giver.link.listener import Listener
from giver.link.outbox import Outbox
from giver.link.registration import Registration, register, signed_registration
from giver.link.reporter import Reporter
from giver.link.session import Dialler, Introduction, Session
from giver.sandbox.images import ImagePolicy
from giver.sandbox.probe import probe
from giver.sandbox.runner import Runner
from giver.terms.capacity import Caps
from giver.terms.config import GiverConfig
from giver.terms.pinning import SeekerKeyPin

log = logging.getLogger(__name__)


class Registrant:
    """The side of `Giver` that reaches a Seeker and registers with it; `Giver` mixes
    this in and owns the state read here."""

    config: GiverConfig
    capabilities: Capabilities | None
    registration: Registration | None
    # Why the Seeker refuses this Giver's release (what to upgrade to); empty if it does not.
    refusal: str
    _caps: Caps
    _traffic: Traffic
    _identity: Identity | None
    _runner: Runner | None
    _http: aiohttp.ClientSession | None
    _outbox: Outbox | None
    _channel: ChannelClient | None
    _pin: SeekerKeyPin
    _policy: ImagePolicy
    _reporter: Reporter
    _session: Session | None
    _listener: Listener | None
    _advertiser: Advertiser | None
    _serving: "asyncio.Task[None] | None"
    idle_reason: Callable[[], Awaitable[str]]
    _on_delivered: Callable[[Result], None]

    @property
    def id(self) -> str:
        if self._identity is None:
            raise GiverError("the Giver has no identity before start()")
        return self._identity.id

    async def _start_dialling(self) -> None:
        """Register, open the outbox, and dial the Seeker."""
        assert self._http is not None and self._session is not None
        config = self.config
        self.registration = await self._register()
        await self._open_outbox(self.registration.channel_url)
        dialler = Dialler(
            self._http,
            config.seeker_url,
            self._session,
            giver_id=self.id,
            reconnect_max_s=config.reconnect_max_s,
            register=self._register,
        )
        self._serving = asyncio.create_task(dialler.run(), name="giver-session")

    async def _start_lan(self) -> None:
        """Listen for a Seeker's session and advertise where."""
        assert self._session is not None
        config = self.config
        self._listener = Listener(self._session, *config.listen, introduce=self._introduce)
        await self._listener.start()
        self._advertiser = Advertiser(
            Advert(self.id, self._listener.port),
            interfaces=config.mdns_interfaces,
            check_interval_s=config.address_check_s,
        )
        await self._advertiser.start()
        self._serving = asyncio.create_task(self._advertiser.watch(), name="giver-advert")

    async def _open_outbox(self, channel_url: str) -> None:
        assert self._http is not None
        self._channel = ChannelClient(channel_url, self._http)
        self._outbox = Outbox(
            self.config.outbox_dir,
            self._channel,
            retry_max_s=self.config.outbox_retry_max_s,
            on_delivered=self._on_delivered,
            traffic=self._traffic,
        )
        await self._outbox.start()

    async def _register(self) -> Registration:
        """Register with what this machine offers now (also when registering again)."""
        assert self._http is not None and self._identity is not None
        capabilities = await self._current_capabilities()
        registration = await register(
            self._http,
            self.config.seeker_url,
            self._identity,
            name=self.config.name,
            volunteer=self.config.volunteer,
            capabilities=capabilities,
            retry_max_s=self.config.reconnect_max_s,
            token=self.config.token,
            check_key=self._pin.confirm if self._pin.key else None,
            refused=partial(setattr, self, "refusal"),
        )
        if self._pin.check(registration.seeker_key, self.config.seeker_url):
            await asyncio.to_thread(self._pin.save)
        self._reporter.registered(capabilities)
        return registration

    async def _introduce(self) -> Introduction:
        """What this Giver says first to a Seeker that dialled it: its registration,
        signed now with what this machine offers now."""
        assert self._identity is not None
        capabilities = await self._current_capabilities()
        body = signed_registration(
            self._identity,
            name=self.config.name,
            volunteer=self.config.volunteer,
            capabilities=capabilities,
        )
        return Introduction(body, partial(self._registered, capabilities=capabilities))

    async def _registered(self, registration: Registration, *, capabilities: Capabilities) -> None:
        """A Seeker that dialled this Giver took its registration: results go where it says."""
        self.registration = registration
        if not self._pin.saved:
            await asyncio.to_thread(self._pin.save)
        self._reporter.registered(capabilities)
        if self._channel is None:
            log.info(
                "registered with a Seeker that found this Giver; results go to %s",
                registration.channel_url,
            )
            await self._open_outbox(registration.channel_url)
        elif self._channel.url != registration.channel_url.rstrip("/"):
            log.info("results go to %s from now on", registration.channel_url)
            self._channel.move_to(registration.channel_url)

    async def _current_capabilities(self) -> Capabilities:
        """What this machine offers now, or as probed last if it cannot be probed again."""
        try:
            return await self._probe()
        except GiverError as e:
            if self.capabilities is None:
                raise
            log.warning("cannot probe this machine again (%s); registering as probed last", e)
            return self.capabilities

    def _check_challenge(self, challenge: Challenge) -> None:
        """The session's Seeker must name the key this Giver trusts."""
        self._pin.check(challenge.seeker_key, self.config.seeker_url or "that dialled this Giver")

    async def _probe(self) -> Capabilities:
        assert self._runner is not None
        machine = await probe(
            self._runner, self._policy, slots=self.config.slots, labels=self.config.labels
        )
        self.capabilities = replace(
            self._caps.offered(machine),
            paused=await self.idle_reason(),
            network_paused=self._traffic.exhausted()[:MAX_LABEL_VALUE_CHARS],
        )
        return self.capabilities
