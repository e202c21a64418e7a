"""The pages' stylesheet and scripts: read once at startup, served from memory
under URLs that name their content, so browsers keep them for good."""

import asyncio
import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    digest: str


@dataclass(frozen=True, slots=True)
class Assets:
    files: dict[str, Asset]

    def url(self, name: str) -> str:
        """Where the page links `name`: its URL with its digest, so a new version is a
        new URL."""
        return f"/admin/static/{name}?v={self.files[name].digest}"


ASSETS = web.AppKey("assets", Assets)


async def load_assets() -> Assets:
    """Every file of the package's static folder, read off the event loop."""

    def read() -> Assets:
        files = {}
        for entry in (resources.files("seeker.admin") / "static").iterdir():
            body = entry.read_bytes()
            content_type = mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
            digest = hashlib.sha256(body).hexdigest()[:16]
            files[entry.name] = Asset(body, content_type, digest)
        return Assets(files)

    return await asyncio.to_thread(read)


async def serve_asset(request: web.Request) -> web.Response:
    """A static file; kept for good by the browser when asked for by its digest."""
    asset = request.app[ASSETS].files.get(request.match_info["name"])
    if asset is None:
        raise web.HTTPNotFound(text="no such file")
    etag = f'"{asset.digest}"'
    versioned = request.query.get("v") == asset.digest
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE if versioned else "no-cache"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    charset = (
        "utf-8"
        if asset.content_type.startswith("text/") or "javascript" in asset.content_type
        else None
    )
    return web.Response(
        body=asset.body, content_type=asset.content_type, charset=charset, headers=headers
    )
