"""The pages' stylesheet and scripts: read once at startup, served from memory
under URLs that name their content, so browsers keep them for good."""

import asyncio
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from seeker.pages.html import Asset, asset, asset_response, versioned


@dataclass(frozen=True, slots=True)
class Assets:
    files: dict[str, Asset]

    def url(self, name: str) -> str:
        """Where the page links `name`: its URL with its digest, so a new version is a
        new URL."""
        return versioned(f"/admin/static/{name}", self.files[name])


ASSETS = web.AppKey("assets", Assets)


async def load_assets() -> Assets:
    """Every file of the package's static folder, read off the event loop."""

    def read() -> Assets:
        folder = resources.files("seeker.admin") / "static"
        return Assets({file.name: asset(file.name, file.read_bytes()) for file in folder.iterdir()})

    return await asyncio.to_thread(read)


async def serve_asset(request: web.Request) -> web.Response:
    """A static file; kept for good by the browser when asked for by its digest."""
    file = request.app[ASSETS].files.get(request.match_info["name"])
    if file is None:
        raise web.HTTPNotFound(text="no such file")
    return asset_response(request, file)
