"""Finding Givers on the LAN: browse mDNS for `_giver._tcp.local.` and dial each one.

Every Giver advertised (and resolved: addresses, port, TXT id and API
version) gets a Dial that opens the same session a Giver that dials the
Seeker gets (seeker/grid/sessions.py), the Giver registering inside it. A Dial
redials with jittered backoff while the advert lasts, moves to the new
address when the advert changes, and ends (closing the session) when the
advert is withdrawn.
"""

import asyncio
import enum
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from zeroconf import Error as ZeroconfError
from zeroconf import InterfaceChoice, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from channel.errors import WireError
from channel.lifecycle import AsyncLifecycle
from channel.wire.lan import API_VERSION, SERVICE_TYPE, Advert, session_url
from seeker.errors import DiscoveryError
from seeker.grid.sessions import Sessions

log = logging.getLogger(__name__)

RESOLVE_TIMEOUT_MS = 3000
CONNECT_TIMEOUT_S = 5.0
HEARTBEAT_S = 20.0
# How long closing a session waits for the Giver's close frame (it may be gone).
CLOSE_TIMEOUT_S = 2.0
INITIAL_DELAY_S = 0.5
# A session that lasted this long resets the backoff; one closed sooner counts as a failure.
STABLE_SESSION_S = 10.0

# The absolute URLs of the Seeker and of the Channel to tell a Giver, given the local
# address of the connection to it.
SeekerUrls = Callable[[str], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Sighting:
    """Where a Giver's advert says it is: its id, addresses and port."""

    giver_id: str
    addresses: tuple[str, ...]
    port: int


class DialOutcome(enum.Enum):
    """How one dial ended."""

    FAILED = "no session could be opened"  # not reached, or it did not prove itself
    CLOSED = "the session closed soon after opening"
    LASTED = "the session closed"
    MOVED = "the advert moved"  # the advert changed under a live session


class Dial:
    """Keeps a session with one advertised Giver until cancelled."""

    def __init__(
        self,
        sighting: Sighting,
        *,
        http: aiohttp.ClientSession,
        sessions: Sessions,
        urls: SeekerUrls,
        reconnect_max_s: float,
    ) -> None:
        self.sighting = sighting
        self._http = http
        self._sessions = sessions
        self._urls = urls
        self._reconnect_max_s = reconnect_max_s
        self._changed = asyncio.Event()

    def follow(self, sighting: Sighting) -> None:
        """The advert changed: dial `sighting` from now on."""
        if sighting != self.sighting:
            self.sighting = sighting
            self._changed.set()

    async def run(self) -> None:
        failures = 0
        while True:
            outcome = await self._dial_once()
            if outcome is DialOutcome.MOVED:
                continue
            if outcome is DialOutcome.LASTED:
                failures = 0
            nominal_s = min(INITIAL_DELAY_S * 2**failures, self._reconnect_max_s)
            delay_s = nominal_s * (0.5 + random.random() / 2)
            log.log(
                logging.WARNING if failures == 0 else logging.DEBUG,
                "giver %s: %s; dialling again in %.1f s",
                self.sighting.giver_id,
                outcome.value,
                delay_s,
            )
            failures += 1
            try:
                async with asyncio.timeout(delay_s):
                    await self._changed.wait()
            except TimeoutError:
                pass

    async def _dial_once(self) -> DialOutcome:
        """Dial the advertised addresses in turn; serve the first that answers."""
        self._changed.clear()
        sighting = self.sighting
        for address in sighting.addresses:
            url = session_url(address, sighting.port)
            try:
                ws = await self._http.ws_connect(
                    url,
                    heartbeat=HEARTBEAT_S,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT_S),
                )
            except (aiohttp.ClientError, OSError, TimeoutError) as e:
                log.debug("giver %s: cannot dial %s: %s", sighting.giver_id, url, e)
                continue
            async with ws:
                return await self._serve(ws, sighting, address)
        return DialOutcome.FAILED

    async def _serve(
        self, ws: aiohttp.ClientWebSocketResponse, sighting: Sighting, address: str
    ) -> DialOutcome:
        local = ws.get_extra_info("sockname")
        seeker_url, channel_url = self._urls(local[0])
        started = time.monotonic()
        serving = asyncio.ensure_future(
            self._sessions.serve(
                ws, sighting.giver_id, channel_url=channel_url, seeker_url=seeker_url
            )
        )
        try:
            while True:
                changed = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait({serving, changed}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                if serving.done():
                    break
                self._changed.clear()
                now = self.sighting
                if (now.giver_id, now.port) == (sighting.giver_id, sighting.port) and (
                    address in now.addresses
                ):
                    continue
                log.info(
                    "giver %s moved to %s port %d; dialling it there",
                    now.giver_id,
                    ", ".join(now.addresses) or "no address",
                    now.port,
                )
                return DialOutcome.MOVED
        finally:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
        if serving.exception() is not None:
            log.debug("giver %s: session failed: %s", sighting.giver_id, serving.exception())
            return DialOutcome.FAILED
        if not serving.result():
            return DialOutcome.FAILED
        lasted = time.monotonic() - started >= STABLE_SESSION_S
        return DialOutcome.LASTED if lasted else DialOutcome.CLOSED


class Discovery(AsyncLifecycle):
    """Browses for Givers on `interfaces` (IPs; empty: all) and keeps a Dial per advert."""

    def __init__(
        self,
        sessions: Sessions,
        *,
        interfaces: tuple[str, ...],
        urls: SeekerUrls,
        reconnect_max_s: float,
    ) -> None:
        self._sessions = sessions
        self._interfaces = interfaces
        self._urls = urls
        self._reconnect_max_s = reconnect_max_s
        self._http: aiohttp.ClientSession | None = None
        self._zeroconf: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._dials: dict[str, tuple[Dial, asyncio.Task[None]]] = {}
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def _start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S)
        )
        try:
            self._zeroconf = AsyncZeroconf(interfaces=list(self._interfaces) or InterfaceChoice.All)
        except (OSError, ZeroconfError) as e:
            where = ", ".join(self._interfaces) or "all interfaces"
            raise DiscoveryError(f"cannot start mDNS on {where}: {e}") from e
        self._browser = AsyncServiceBrowser(
            self._zeroconf.zeroconf, [SERVICE_TYPE], handlers=[self._on_change]
        )
        log.info("looking for Givers on %s", ", ".join(self._interfaces) or "all interfaces")

    async def stop(self) -> None:
        """Stop browsing and close every session it dialled; safe to call twice."""
        browser, self._browser = self._browser, None
        if browser is not None:
            await browser.async_cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._dials.clear()
        self._resolving.clear()
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is not None:
            await zeroconf.async_close()
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    def givers(self) -> dict[str, Sighting]:
        """Where each advertised Giver is being dialled, by advert name."""
        return {name: dial.sighting for name, (dial, _) in self._dials.items()}

    def _on_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        resolving = self._resolving.pop(name, None)
        if resolving is not None:
            resolving.cancel()
        if state_change is ServiceStateChange.Removed:
            withdrawn = self._dials.pop(name, None)
            if withdrawn is not None:
                log.info("giver %s withdrew its advert", withdrawn[0].sighting.giver_id)
                withdrawn[1].cancel()
            return
        self._resolving[name] = self._track(
            self._resolve(zeroconf, service_type, name), f"resolve-{name}"
        )

    async def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        try:
            resolved = await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS)
        finally:
            if self._resolving.get(name) is asyncio.current_task():
                del self._resolving[name]
        if not resolved:
            log.debug("%s did not resolve in time", name)
            return
        try:
            advert = Advert.from_txt(info.decoded_properties)
        except WireError as e:
            log.warning("ignoring the advert %s: %s", name, e)
            return
        if advert.api != API_VERSION:
            log.warning(
                "ignoring giver %s: it speaks session API %s, this Seeker %s",
                advert.giver_id,
                advert.api,
                API_VERSION,
            )
            return
        sighting = Sighting(advert.giver_id, tuple(info.parsed_scoped_addresses()), advert.port)
        known = self._dials.get(name)
        if known is not None:
            known[0].follow(sighting)
            return
        assert self._http is not None
        log.info(
            "found giver %s at %s port %d",
            sighting.giver_id,
            ", ".join(sighting.addresses) or "no address yet",
            sighting.port,
        )
        dial = Dial(
            sighting,
            http=self._http,
            sessions=self._sessions,
            urls=self._urls,
            reconnect_max_s=self._reconnect_max_s,
        )
        self._dials[name] = (dial, self._track(dial.run(), f"dial-{sighting.giver_id}"))

    def _track(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
