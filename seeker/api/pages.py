"""What the pages the Seeker serves to browsers share: the security headers every
answer gets, and files served from memory under URLs that name their content."""

import hashlib
import mimetypes
from dataclasses import dataclass

from aiohttp import web

# Nothing from another site, no inline script or style, no eval, never in a frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    digest: str


def asset(name: str, body: bytes) -> Asset:
    """The file `name` holding `body`, its type told by its name."""
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Asset(body, content_type, hashlib.sha256(body).hexdigest()[:16])


def versioned(url: str, file: Asset) -> str:
    """`url` with the file's digest, so a new version is a new URL."""
    return f"{url}?v={file.digest}"


def asset_response(request: web.Request, file: Asset) -> web.Response:
    """A static file; kept for good by the browser when asked for by its digest."""
    etag = f'"{file.digest}"'
    forever = request.query.get("v") == file.digest
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE if forever else "no-cache"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    text = file.content_type.startswith("text/") or "javascript" in file.content_type
    return web.Response(
        body=file.body,
        content_type=file.content_type,
        charset="utf-8" if text else None,
        headers=headers,
    )
