"""Advertising a Giver on the LAN over mDNS, so that a Seeker browsing for it dials it.

The service `_giver._tcp.local.` is registered under the Giver's id with the
addresses of this machine (those of the interfaces mDNS is bound to, or all
but loopback) and a TXT record of id, API version and port. Every
`check_interval_s` the Advertiser looks at the machine's addresses again;
when they changed it rebinds mDNS and withdraws the advert (goodbye) and
registers it afresh, so Seekers drop the old addresses at once and dial the
new ones. `stop()` withdraws the advert.
"""

import asyncio
import ipaddress
import logging
import socket

import ifaddr
from zeroconf import Error as ZeroconfError
from zeroconf import InterfaceChoice
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from channel.lifecycle import AsyncLifecycle
from channel.wire.lan import SERVICE_TYPE, Advert, service_name
from giver.errors import GiverError

log = logging.getLogger(__name__)


class Advertiser(AsyncLifecycle):
    """Keeps this Giver's advert current on the interfaces with `interfaces` (IPs;
    empty: all); `start()`, `watch()` until cancelled, `stop()`."""

    def __init__(
        self,
        advert: Advert,
        *,
        interfaces: tuple[str, ...],
        check_interval_s: float,
    ) -> None:
        self.advert = advert
        self.addresses: tuple[str, ...] = ()
        self._interfaces = interfaces
        self._check_interval_s = check_interval_s
        self._zeroconf: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    async def _start(self) -> None:
        try:
            self._zeroconf = AsyncZeroconf(interfaces=list(self._interfaces) or InterfaceChoice.All)
        except (OSError, ZeroconfError) as e:
            where = ", ".join(self._interfaces) or "all interfaces"
            raise GiverError(f"cannot start mDNS on {where}: {e}") from e
        await self._advertise(await asyncio.to_thread(self._current_addresses))

    async def watch(self) -> None:
        """Follow this machine's address changes until cancelled."""
        while True:
            await asyncio.sleep(self._check_interval_s)
            addresses = await asyncio.to_thread(self._current_addresses)
            if addresses == self.addresses:
                continue
            log.info(
                "this machine's addresses changed from %s to %s; advertising again",
                ", ".join(self.addresses) or "none",
                ", ".join(addresses) or "none",
            )
            assert self._zeroconf is not None
            await self._zeroconf.async_update_interfaces()
            await self._withdraw()
            await self._advertise(addresses)

    async def stop(self) -> None:
        """Withdraw the advert (goodbye) and close mDNS; safe to call twice."""
        zeroconf = self._zeroconf
        if zeroconf is None:
            return
        try:
            await self._withdraw()
            log.info("advert withdrawn")
        except (OSError, ZeroconfError) as e:
            log.warning("cannot withdraw the advert: %s", e)
        finally:
            self._zeroconf = None
            await zeroconf.async_close()

    async def _advertise(self, addresses: tuple[str, ...]) -> None:
        assert self._zeroconf is not None
        info = AsyncServiceInfo(
            SERVICE_TYPE,
            service_name(self.advert.giver_id),
            port=self.advert.port,
            properties=self.advert.txt(),
            addresses=[socket.inet_pton(_family(a), a) for a in addresses],
            server=f"{self.advert.giver_id}.local.",
        )
        await (await self._zeroconf.async_register_service(info))
        self._info, self.addresses = info, addresses
        log.info(
            "advertised as %s on %s, port %d",
            service_name(self.advert.giver_id),
            ", ".join(addresses) or "no address yet",
            self.advert.port,
        )

    async def _withdraw(self) -> None:
        info, self._info = self._info, None
        if self._zeroconf is not None and info is not None:
            await (await self._zeroconf.async_unregister_service(info))

    def _current_addresses(self) -> tuple[str, ...]:
        """The addresses to advertise: those of the chosen interfaces that this
        machine has now, or all its IPv4 addresses but loopback."""
        present = [
            ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            for adapter in ifaddr.get_adapters()
            for ip in adapter.ips
        ]
        if self._interfaces:
            return tuple(a for a in self._interfaces if a in present)
        return tuple(a for a in present if ":" not in a and not ipaddress.ip_address(a).is_loopback)


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET
