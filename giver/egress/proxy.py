"""Reading a request to the gateway: what it asks for, and the answers it may get.
Pure logic.

A scraper asks the gateway as it would any HTTP forward proxy: `CONNECT
host:port` opens a tunnel (for TLS), and `GET http://host/path` (any method,
absolute URL) is forwarded as one request on a fresh connection, closed after
its answer. An `https://` URL must come through CONNECT instead.

What is forwarded is exactly that one request: its `Host` header is the URL's
host (the one the volunteer's lists were checked against), hop-by-hop
headers are dropped, and only the body its `Content-Length` announces goes
with it, so nothing pipelined after it reaches the site. A body sent in chunks
is refused. A host must be an IP address or an ASCII name (an international
name in its `xn--` form) of at most 253 characters, so that what the lists
are checked against is what gets resolved.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024
MAX_HOST_CHARS = 253
# Hop-by-hop headers the gateway drops, and Host, which it writes itself.
DROPPED = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "host"}
)
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
HOST_NAME = re.compile(
    r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?"
)
STATUS = re.compile(rb"HTTP/\d\.\d (\d)\d\d")


class BadRequest(ValueError):
    """A request the gateway cannot read or will not forward; its message says why,
    and `status` is the HTTP status it is answered with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Request:
    """A request's method, the host and port it asks for, and (not for CONNECT) the
    head to send upstream and the length of the body that follows it."""

    method: str
    host: str
    port: int
    upstream_head: bytes = b""
    body_bytes: int = 0

    @property
    def tunnel(self) -> bool:
        return self.method == "CONNECT"


def parse(head: bytes) -> Request:
    """The request whose head (up to and with the blank line) is `head`."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not TOKEN.fullmatch(parts[0]) or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"not an HTTP/1 request line: {lines[0][:100]!r}")
    method, target, version = parts
    headers = [line for line in lines[1:] if line]
    for line in headers:
        name, colon, _ = line.partition(":")
        if not colon or not TOKEN.fullmatch(name):
            raise BadRequest(f"not a header line: {line[:100]!r}")
    if method == "CONNECT":
        host, port = _authority(target, None)
        return Request(method, host, port)
    url = urlsplit(target)
    if url.scheme == "https":
        raise BadRequest("send https:// requests through CONNECT (as HTTPS_PROXY clients do)")
    if url.scheme != "http" or not url.netloc:
        raise BadRequest(f"expected an absolute http:// URL, got {target[:100]!r}")
    if "@" in url.netloc:
        raise BadRequest("user:password@ in the URL is not forwarded")
    host, port = _authority(url.netloc, 80)
    path = url.path or "/"
    if url.query:
        path += f"?{url.query}"
    fields = {line.partition(":")[0].strip().lower(): line.partition(":")[2] for line in headers}
    if "transfer-encoding" in fields:
        raise BadRequest("a request body sent in chunks is not forwarded; send its length", 411)
    length = fields.get("content-length", "0").strip()
    if not (length.isascii() and length.isdigit()):
        raise BadRequest(f"not a Content-Length: {length[:20]!r}")
    kept = [h for h in headers if h.partition(":")[0].strip().lower() not in DROPPED]
    upstream = "\r\n".join(
        [f"{method} {path} {version}", f"Host: {url.netloc}", *kept, "Connection: close", "", ""]
    )
    return Request(method, host, port, upstream.encode("latin-1"), int(length))


def _authority(text: str, default_port: int | None) -> tuple[str, int]:
    """(host, port) of `host[:port]` or `[v6][:port]`; the host lower-cased."""
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        host, port_text = inside, rest.removeprefix(":")
        if not bracket or (rest and not rest.startswith(":")):
            raise BadRequest(f"not host:port: {text[:100]!r}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise BadRequest(f"not an IPv6 address: {host[:100]!r}") from None
    else:
        host, _, port_text = text.partition(":")
        if len(host) > MAX_HOST_CHARS or not HOST_NAME.fullmatch(host):
            raise BadRequest(
                f"not a host name: {host[:100]!r} (an international name goes in its xn-- form)"
            )
    if not port_text:
        if default_port is None:
            raise BadRequest(f"CONNECT needs host:port, got {text[:100]!r}")
        return host.lower(), default_port
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise BadRequest(f"not a port: {port_text[:20]!r}")
    return host.lower(), int(port_text)


def answer(status: int, reason: str) -> bytes:
    """A whole answer from the gateway itself: the status line carries the reason too,
    so clients that show only that (a failed CONNECT) show why. `X-Seekgive-Egress`
    says whether the gateway refused the request (4xx) or could not carry it out."""
    phrase = " ".join(reason.encode("ascii", "replace").decode().split())[:300]
    body = f"{phrase}\n".encode()
    return (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"X-Seekgive-Egress: {'refused' if status < 500 else 'failed'}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


def outcome_of(first: bytes) -> str:
    """The class of an upstream answer from its first bytes ("2xx"...), or "other"."""
    match = STATUS.match(first)
    return f"{match.group(1).decode()}xx" if match else "other"
