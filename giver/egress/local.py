"""This machine and the networks it is on, as its kernel sees them: addresses a
scraper may not reach although no fixed range marks them as local.

A home machine often has a global IPv6 address, and its LAN a global IPv6
prefix; a LAN may also use addresses no range lists as private. So besides
the fixed ranges (giver.egress.addresses), the gateway refuses any address of
this machine (the kernel would send from that same address: asked with a UDP
socket's connect, which sends nothing) and any address on a network this
machine reaches directly, without a router (a route with no gateway, read
from /proc/net/route and /proc/net/ipv6_route at most every REFRESH_S).
"""

import ipaddress
import socket
import threading
import time
from pathlib import Path

from giver.egress.addresses import IPAddress, IPNetwork

REFRESH_S = 5.0
PROC_NET = Path("/proc/net")
RTF_GATEWAY = 0x2


class Neighbourhood:
    """What is local to this machine; `kind(address)` says whether an address is."""

    def __init__(self, proc_net: Path = PROC_NET) -> None:
        self._proc_net = proc_net
        self._lock = threading.Lock()
        self._networks: tuple[IPNetwork, ...] = ()
        self._read_at = -REFRESH_S

    def kind(self, address: IPAddress) -> str | None:
        """What local address `address` is ("an address of this machine", or one on
        a network it is on), or None if it is neither."""
        if own(address):
            return "an address of this machine"
        for network in self.networks():
            if address.version == network.version and address in network:
                return "an address on a network this machine is on"
        return None

    def networks(self) -> tuple[IPNetwork, ...]:
        """The networks this machine reaches without a router, read again when stale."""
        with self._lock:
            if time.monotonic() - self._read_at >= REFRESH_S:
                self._networks = tuple(on_link(self._proc_net))
                self._read_at = time.monotonic()
            return self._networks


def own(address: IPAddress) -> bool:
    """Whether `address` is this machine's: the kernel would send to it from it."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((str(address), 9))
            return bool(ipaddress.ip_address(probe.getsockname()[0]) == address)
    except OSError:  # no route, or no IPv6 on this machine: not an address of it
        return False


def on_link(proc_net: Path) -> list[IPNetwork]:
    """The destinations of the routes without a gateway, default routes aside."""
    found: list[IPNetwork] = []
    for line in _lines(proc_net / "route")[1:]:
        fields = line.split()
        if len(fields) < 8 or int(fields[3], 16) & RTF_GATEWAY or int(fields[7], 16) == 0:
            continue
        destination = ipaddress.IPv4Address(bytes.fromhex(fields[1])[::-1])
        mask = ipaddress.IPv4Address(bytes.fromhex(fields[7])[::-1])
        found.append(ipaddress.IPv4Network(f"{destination}/{mask}", strict=False))
    for line in _lines(proc_net / "ipv6_route"):
        fields = line.split()
        if len(fields) < 10 or fields[9] == "lo" or int(fields[8], 16) & RTF_GATEWAY:
            continue
        length = int(fields[1], 16)
        network = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
        if length == 0 or network.is_multicast:
            continue
        found.append(ipaddress.IPv6Network(f"{network}/{length}", strict=False))
    return found


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []
