"""What the pages the Seeker serves to browsers share (the admin pages, the API
explorer, the docs): the security headers every answer gets, files served from
memory under URLs that name their content, and the public pages' header bar."""

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

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

# The public pages' header bar: the way to the admin pages, the explorer and the docs.
HEADER = """<header class="sg-top"><nav aria-label="Seeker">
<a class="sg-brand" href="/admin/">Seeker</a>
<a href="/admin/">Admin pages</a><a href="/api">API explorer</a><a href="/docs">Docs</a>
</nav></header>"""
# Where the pages' own stylesheets and scripts are, read once at startup.
STATIC = Path(__file__).resolve().parent / "static"


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


def public_file(request: web.Request, file: Asset | None) -> web.Response:
    """A file of the public pages, with SECURITY_HEADERS; 404 when there is none."""
    if file is None:
        raise web.HTTPNotFound(text="no such file")
    return secured(asset_response(request, file))


def secured(response: web.Response) -> web.Response:
    """`response` with SECURITY_HEADERS, for routes outside the admin app (which adds
    them to every answer itself)."""
    response.headers.update(SECURITY_HEADERS)
    return response


def html_page(html: str, *, status: int = 200) -> web.Response:
    """A page of HTML, asked for again on every visit (its files are versioned)."""
    response = web.Response(text=html, status=status, content_type="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return secured(response)
