"""The Seeker's routes for the scraper catalog (`/api/v1/scrapers`)."""

from aiohttp import web

from channel.jsonweb import json_response, read_json
from seeker.api.parts import parts
from seeker.catalog.forms import form_fields
from seeker.errors import InvalidScraper


def add_scraper_routes(app: web.Application) -> None:
    app.router.add_post("/scrapers", add_scraper)
    app.router.add_get("/scrapers", list_scrapers)
    app.router.add_get("/scrapers/{name}", get_scraper)
    app.router.add_delete("/scrapers/{name}", remove_scraper)


async def add_scraper(request: web.Request) -> web.Response:
    """`{"image": REFERENCE}`: read the image's labels from the Seeker's Docker Engine
    and add it to the catalog (201, the entry)."""
    body = await read_json(request)
    image = body.get("image") if isinstance(body, dict) else None
    if not isinstance(image, str) or not image.strip():
        raise InvalidScraper('add a scraper with {"image": "REPOSITORY:TAG"}', name="")
    entry = await parts(request).catalog.add(image.strip())
    return json_response(entry.to_wire(), status=201)


async def list_scrapers(request: web.Request) -> web.Response:
    return json_response({"scrapers": [e.to_wire() for e in await parts(request).catalog.list()]})


async def get_scraper(request: web.Request) -> web.Response:
    """A catalog entry, with the fields of its settings form in order."""
    entry = await parts(request).catalog.get(request.match_info["name"])
    return json_response(
        {**entry.to_wire(), "form": [f.to_wire() for f in form_fields(entry.schema)]}
    )


async def remove_scraper(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await parts(request).catalog.remove(name)
    return json_response({"name": name, "removed": True})
