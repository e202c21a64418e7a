"""Which headers cross the front. Hop-by-hop headers (RFC 9110, section 7.6.1) and
those the Connection header names describe one connection, not the message: they
stay behind; so do those of a WebSocket handshake, which the front makes anew on
each side. The request gains X-Forwarded-For/-Proto/-Host; its Host passes as the
client sent it, so the Seeker sees the address its users see."""

from collections.abc import Iterable

from multidict import CIMultiDict

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        # The front answers 100-continue itself, then streams the body on.
        "expect",
    }
)
HANDSHAKE_PREFIX = "sec-websocket-"


def passing(headers: Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    """The headers that cross the front, repeated ones (Set-Cookie) kept apart."""
    pairs = list(headers)
    named = {
        name.strip().lower()
        for key, value in pairs
        if key.lower() == "connection"
        for name in value.split(",")
    }
    return CIMultiDict(
        (key, value)
        for key, value in pairs
        if key.lower() not in HOP_BY_HOP
        and key.lower() not in named
        and not key.lower().startswith(HANDSHAKE_PREFIX)
    )


def forwarded(
    headers: Iterable[tuple[str, str]], *, peer: str | None, scheme: str, host: str
) -> CIMultiDict[str]:
    """The headers of a request to forward from `peer`: those that pass, with `peer`
    appended to X-Forwarded-For; X-Forwarded-Proto and -Host as a proxy before the
    front set them, else the `scheme` and `host` the front was reached by."""
    out = passing(headers)
    chain = [hop for hop in out.popall("X-Forwarded-For", []) if hop.strip()]
    out["X-Forwarded-For"] = ", ".join([*chain, peer or "unknown"])
    out.setdefault("X-Forwarded-Proto", scheme)
    out.setdefault("X-Forwarded-Host", host)
    return out
