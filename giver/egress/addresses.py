"""Which hosts and addresses a scraper may reach through the gateway. Pure logic.

A request names a host (a domain or an IP literal) and a port. The host is
checked against the volunteer's `deny_hosts` and, when they list any,
`allow_hosts`: `example.com` matches that name only, `*.example.com` any name
under it, and an IP address that address however it is written or resolved
to. Then every address the name resolves to is checked: a loopback,
private, carrier-grade-NAT, link-local (cloud metadata included), multicast
or reserved address, one that embeds an IPv4 address (IPv4-mapped, NAT64,
6to4), any other that is not routed on the public internet, and one this
machine has or is directly on the network of (giver.egress.local tells,
passed in as `local`) is refused, unless the volunteer lists it in
`allow_local` (an address or network, with or without a port). A name with
even one refused address is refused whole: the gateway connects only to an
address it checked, so an answer that changes between two lookups (DNS
rebinding) gains nothing. Last, the port must be one of `allow_ports` (80 and
443 unless the volunteer says otherwise), so a scraper cannot send mail or try
logins from the volunteer's address; a local address the volunteer lists may
be reached on the port they list with it, or any port if they list none.

A refusal names what was asked for and the kind of address it is, never the
address a name resolved to nor the volunteer's networks: those are the
volunteer's business, not the scraper's.
"""

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# The ports scrapers may reach unless the volunteer lists others: HTTP and HTTPS.
DEFAULT_PORTS = (80, 443)
# What local address an address is, beyond the fixed ranges, or None.
LocalKind = Callable[[IPAddress], str | None]

# Most specific first: the first network holding an address names it.
BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(network), name)
    for network, name in (
        ("169.254.169.254/32", "a cloud metadata address"),
        ("0.0.0.0/8", "an address of 'this network' (0.0.0.0/8)"),
        ("10.0.0.0/8", "a private address (10.0.0.0/8)"),
        ("100.64.0.0/10", "a carrier-grade NAT address (100.64.0.0/10)"),
        ("127.0.0.0/8", "a loopback address (127.0.0.0/8)"),
        ("169.254.0.0/16", "a link-local address (169.254.0.0/16)"),
        ("172.16.0.0/12", "a private address (172.16.0.0/12)"),
        ("192.0.0.0/24", "an IETF protocol address (192.0.0.0/24)"),
        ("192.168.0.0/16", "a private address (192.168.0.0/16)"),
        ("198.18.0.0/15", "a benchmarking address (198.18.0.0/15)"),
        ("224.0.0.0/4", "a multicast address (224.0.0.0/4)"),
        ("240.0.0.0/4", "a reserved or broadcast address (240.0.0.0/4)"),
        ("::/128", "the unspecified IPv6 address (::)"),
        ("::1/128", "the IPv6 loopback address (::1)"),
        ("::/96", "an IPv4-compatible IPv6 address (::/96)"),
        ("::ffff:0:0/96", "an IPv4-mapped IPv6 address (::ffff:0:0/96)"),
        ("64:ff9b::/96", "a NAT64 address (64:ff9b::/96)"),
        ("64:ff9b:1::/48", "a local-use NAT64 address (64:ff9b:1::/48)"),
        ("2002::/16", "a 6to4 address (2002::/16)"),
        ("2001::/32", "a Teredo address (2001::/32)"),
        ("100::/64", "a discard-only IPv6 address (100::/64)"),
        ("fec0::/10", "a site-local IPv6 address (fec0::/10)"),
        ("fd00:ec2::254/128", "a cloud metadata address"),
        ("fc00::/7", "a unique-local (private) IPv6 address (fc00::/7)"),
        ("fe80::/10", "a link-local IPv6 address (fe80::/10)"),
        ("ff00::/8", "a multicast IPv6 address (ff00::/8)"),
    )
)


def blocked(address: IPAddress) -> str | None:
    """What kind of address `address` is if the gateway never reaches it by
    default (e.g. "a private address (10.0.0.0/8)"), else None."""
    for network, name in BLOCKED:
        if address.version == network.version and address in network:
            return name
    if not address.is_global:
        return "an address not routed on the public internet"
    return None


@dataclass(frozen=True, slots=True)
class LocalAllowance:
    """An address or network the volunteer lets scrapers reach although it is
    local, on one port or (port None) on any."""

    network: IPNetwork
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> "LocalAllowance":
        """`127.0.0.1`, `127.0.0.1:8080`, `192.168.1.0/24`, `[::1]:8080` or `fd00::/8`;
        ValueError naming the problem otherwise."""
        spec = text.strip()
        port: int | None = None
        if spec.startswith("["):
            inside, bracket, rest = spec[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(f"{text!r}: expected [IPv6]:PORT")
            spec, port_text = inside, rest[1:]
            port = _port(text, port_text) if rest else None
        elif spec.count(":") == 1:
            spec, _, port_text = spec.partition(":")
            port = _port(text, port_text)
        try:
            network = ipaddress.ip_network(spec, strict=True)
        except ValueError as e:
            raise ValueError(
                f"{text!r} is not an address or network (e.g. 127.0.0.1:8080, 192.168.1.0/24): {e}"
            ) from None
        return cls(network, port)

    def covers(self, address: IPAddress, port: int) -> bool:
        return (
            address.version == self.network.version
            and address in self.network
            and self.port in (None, port)
        )

    def __str__(self) -> str:
        network = (
            str(self.network.network_address)
            if self.network.num_addresses == 1
            else str(self.network)
        )
        if self.port is None:
            return network
        return f"[{network}]:{self.port}" if self.network.version == 6 else f"{network}:{self.port}"


def _port(text: str, port: str) -> int:
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return int(port)


def port_number(text: str) -> int:
    """A port as the volunteer writes it in allow_ports; ValueError if it is not one."""
    return _port(text, text.strip())


def host_pattern(text: str) -> str:
    """A host pattern as compared: lower case, no trailing dot; `example.com`,
    `*.example.com`, or an IP address as Python writes it. ValueError for anything
    else."""
    address = _literal(text.strip())
    if address is not None:
        return str(address)
    pattern = text.strip().lower().rstrip(".")
    name = pattern.removeprefix("*.")
    labels = name.split(".")
    if (
        not name
        or "*" in name
        or any(not label or len(label) > 63 for label in labels)
        or not name.isascii()
        or any(c.isspace() or c in "/:@[]" for c in name)
    ):
        raise ValueError(f"{text!r} is not a host name or *.domain pattern")
    return pattern


def host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


@dataclass(frozen=True, slots=True)
class AddressRules:
    """The volunteer's rules on where scrapers may go."""

    allow_hosts: tuple[str, ...] = ()
    deny_hosts: tuple[str, ...] = ()
    allow_local: tuple[LocalAllowance, ...] = ()
    allow_ports: tuple[int, ...] = DEFAULT_PORTS

    @classmethod
    def parse(
        cls,
        allow_hosts: Iterable[str],
        deny_hosts: Iterable[str],
        allow_local: Iterable[str],
        allow_ports: Iterable[int | str] = (),
    ) -> "AddressRules":
        """The rules from the settings' texts (no ports: DEFAULT_PORTS); ValueError
        naming a bad one."""
        ports = tuple(port_number(str(p)) for p in allow_ports)
        return cls(
            tuple(host_pattern(h) for h in allow_hosts),
            tuple(host_pattern(h) for h in deny_hosts),
            tuple(LocalAllowance.parse(a) for a in allow_local),
            ports or DEFAULT_PORTS,
        )

    def stated(self) -> str:
        """The rules in a few words, for the Giver's log."""
        hosts = f"only {', '.join(self.allow_hosts)}" if self.allow_hosts else "any public host"
        if self.deny_hosts:
            hosts += f" but {', '.join(self.deny_hosts)}"
        local = ", ".join(str(a) for a in self.allow_local) or "none"
        ports = ", ".join(str(p) for p in self.allow_ports)
        return f"{hosts} on port {ports}; local addresses allowed: {local}"

    def host_refusal(self, host: str, port: int) -> str | None:
        """Why the host name (or IP literal) may not be asked for, or None. A local
        address the volunteer lists (allow_local) needs no place in allow_hosts."""
        name = host.lower().rstrip(".")
        for pattern in self.deny_hosts:
            if host_matches(name, pattern):
                return f"{name} is denied by the volunteer (deny_hosts {pattern})"
        if self.allow_hosts and not any(host_matches(name, p) for p in self.allow_hosts):
            literal = _literal(name)
            if literal is None or not any(a.covers(literal, port) for a in self.allow_local):
                return f"{name} is not among the volunteer's allow_hosts"
        return None

    def address_refusal(
        self, address: IPAddress, port: int, local: LocalKind | None = None
    ) -> str | None:
        """What kind of local address `address` is if the gateway may not connect to
        it on `port`, or None."""
        if any(a.covers(address, port) for a in self.allow_local):
            return None
        return blocked(address) or (local(address) if local is not None else None)

    def refusal(
        self,
        host: str,
        port: int,
        addresses: Iterable[IPAddress],
        local: LocalKind | None = None,
    ) -> str | None:
        """Why a request for `host`:`port`, which resolved to `addresses`, is refused;
        None if every one of them may be reached."""
        found = list(addresses)
        if not found:
            return f"{host} has no address"
        literal = _literal(host) is not None
        for address in found:
            if str(address) in self.deny_hosts:
                if literal:
                    return f"{host} is denied by the volunteer (deny_hosts {address})"
                return f"{host} resolves to an address the volunteer denies (deny_hosts)"
            kind = self.address_refusal(address, port, local)
            if kind is not None:
                named = f"{host} is" if literal else f"{host} resolves to"
                if any(a.covers(address, a.port or port) for a in self.allow_local):
                    return f"{named} {kind}, which scrapers may reach on its listed port only"
                return f"{named} {kind}, which scrapers may not reach"
        listed = all(any(a.covers(address, port) for a in self.allow_local) for address in found)
        if port not in self.allow_ports and not listed:
            ports = ", ".join(str(p) for p in self.allow_ports)
            return (
                f"port {port} is not one scrapers may reach (the volunteer's allow_ports: {ports})"
            )
        return None


def _literal(host: str) -> IPAddress | None:
    """The address `host` is written as, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
