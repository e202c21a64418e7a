"""Who a request comes from when it reached the Seeker through a front or a
reverse proxy.

Behind a front every request arrives from the front's address: the sign-in limit
would count every operator's failures as one client's (a stranger's wrong
passwords would lock everyone out), and a request the proxy took over HTTPS
would look like plain HTTP. A Seeker told which addresses its fronts have
(`trusted_fronts`: addresses or networks) believes their X-Forwarded-For,
-Proto and -Host: the client is the last address in X-Forwarded-For that is not
itself a trusted front, the scheme and host those the first proxy was reached
by. From any other peer the headers are ignored, for anyone may send them.
"""

import ipaddress
from collections.abc import Iterable, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = ("http", "https")


def networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """The networks of addresses ("10.0.0.5") and networks ("172.16.0.0/12");
    ValueError naming the first that is neither."""
    return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in texts)


def is_trusted(address: str | None, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_of(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client behind `peer`: the last of the X-Forwarded-For hops `peer` (a trusted
    front) and the trusted hops before it name; `peer` itself when untrusted."""
    if not is_trusted(peer, trusted):
        return peer or ""
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer or ""


def first(values: Sequence[str]) -> str:
    """The first item of a header given as one or more comma-separated lists."""
    return next((v.strip() for value in values for v in value.split(",") if v.strip()), "")


def forwarded_middleware(trusted: Sequence[Network]) -> Middleware:
    """A middleware that hands on the request as its client made it, when a trusted
    front forwarded it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not trusted or not is_trusted(request.remote, trusted):
            return await handler(request)
        headers = request.headers
        scheme = first(headers.getall("X-Forwarded-Proto", [])).lower()
        host = first(headers.getall("X-Forwarded-Host", []))
        client = client_of(request.remote, headers.getall("X-Forwarded-For", []), trusted)
        return await handler(
            request.clone(
                remote=client,
                scheme=scheme if scheme in SCHEMES else request.scheme,
                host=host or request.host,
            )
        )

    return middleware
