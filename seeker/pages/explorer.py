"""The API explorer at /api, so an operator can read the JSON API and try it with a
bearer token from the Seeker itself: Swagger UI over /api/v1/openapi.json, its
files from the swagger-ui-bundle-v2 package, read once at startup and served
from here, nothing from another site.

It runs under the same Content-Security-Policy as the admin pages: Swagger UI
needs neither eval nor inline script or style. Anyone may open it; it holds no
data, and every call made from it needs the operator's token like any other."""

import asyncio
from dataclasses import dataclass
from html import escape

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

from seeker.pages.html import HEADER, STATIC, Asset, asset, html_page, public_file, versioned

ASSETS_URL = "/api/explorer"
DOCUMENT_URL = "/api/v1/openapi.json"
# Swagger UI's files this page uses, as the package ships them.
_SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API explorer · Seeker</title>
<link rel="stylesheet" href="{swagger_css}">
<link rel="stylesheet" href="{page_css}">
<link rel="icon" href="{icon}" type="image/png">
<script src="{bundle}" defer></script>
<script src="{initializer}" defer></script>
</head>
<body>
{header}
<main id="swagger-ui" data-url="{document}"></main>
</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class Explorer:
    files: dict[str, Asset]
    page: str


EXPLORER = web.AppKey("explorer", Explorer)


def add_explorer_routes(app: web.Application) -> list[web.AbstractRoute]:
    """The explorer at /api (and /api/), its files under /api/explorer/, loaded when
    `app` starts; the routes, all of them public."""
    app.on_startup.append(_load)
    return [
        app.router.add_get("/api", explorer_page),
        app.router.add_get("/api/", explorer_page),
        app.router.add_get(ASSETS_URL + "/{name}", explorer_file),
    ]


async def _load(app: web.Application) -> None:
    app[EXPLORER] = await asyncio.to_thread(_read)


def _read() -> Explorer:
    """Swagger UI's files (some MB) and ours, and the page linking them by digest."""
    files = {name: asset(name, (swagger_ui_path / name).read_bytes()) for name in _SWAGGER_FILES}
    # The initializer is a file of its own: the page allows no inline script.
    files["explorer.js"] = asset("explorer.js", (STATIC / "explorer.js").read_bytes())
    files["explorer.css"] = asset("explorer.css", (STATIC / "header.css").read_bytes())

    def url(name: str) -> str:
        return escape(versioned(f"{ASSETS_URL}/{name}", files[name]))

    page = _PAGE.format(
        swagger_css=url("swagger-ui.css"),
        page_css=url("explorer.css"),
        icon=url("favicon-32x32.png"),
        bundle=url("swagger-ui-bundle.js"),
        initializer=url("explorer.js"),
        header=HEADER,
        document=DOCUMENT_URL,
    )
    return Explorer(files, page)


async def explorer_page(request: web.Request) -> web.Response:
    return html_page(request.app[EXPLORER].page)


async def explorer_file(request: web.Request) -> web.Response:
    return public_file(request, request.app[EXPLORER].files.get(request.match_info["name"]))
