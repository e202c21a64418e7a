"""The demo shop's paginated JSON API (part of scripts/demo_site.py).

``GET /api/categories`` lists the categories with their sizes and first pages;
``GET /api/categories/{name}/items?page=N&per_page=M`` answers one page::

    {"category": "kitchen", "page": 2, "per_page": 10, "total": 47,
     "items": [{"id": 11, "sku": ..., "name": ..., "price": ..., "currency": ...}, ...],
     "next": "/api/categories/kitchen/items?page=3&per_page=10"}

``next`` is a root-relative URL, null on the last page (and on every page
past it, whose ``items`` are empty). ``page`` defaults to 1 and
``per_page`` to DEFAULT_PER_PAGE (at most MAX_PER_PAGE); a bad value is a 400
and an unknown category a 404, both with a JSON body ``{"error": "..."}``.
Every category is a fixed selection of the shop's products, the same on
every run: ``clearance`` is empty, ``new`` fits one default page, and
``kitchen``, ``furniture`` and ``decor`` (the rest, by kind of item) span
several.
"""

import json
from typing import Any
from urllib.parse import quote

from aiohttp import web
from demo_products import PRODUCT_COUNT, product

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
NEW_PRODUCTS = 8

_KINDS = {
    "kitchen": ("Kettle", "Mug", "Salt & Pepper Mill", "Cutting Board"),
    "furniture": ("Chair", "Desk", "Shelf"),
    "decor": ("Lamp", "Vase", "Clock", "Blanket"),
}


def category_names() -> tuple[str, ...]:
    """The categories, in the order ``/api/categories`` lists them."""
    return ("clearance", "new", *_KINDS)


def category_items(name: str) -> list[dict[str, Any]]:
    """The items of category ``name``, in order; KeyError if there is no such category.

    An item is a product with its number as ``id``.
    """
    if name == "clearance":
        numbers: range | list[int] = range(0)
    elif name == "new":
        numbers = range(PRODUCT_COUNT - NEW_PRODUCTS + 1, PRODUCT_COUNT + 1)
    else:
        kinds = _KINDS[name]
        numbers = [n for n in range(1, PRODUCT_COUNT + 1) if product(n)["name"].endswith(kinds)]
    return [{"id": n, **product(n)} for n in numbers]


def _items_url(name: str, page: int, per_page: int) -> str:
    return f"/api/categories/{quote(name, safe='')}/items?page={page}&per_page={per_page}"


def _error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(text=json.dumps({"error": message}), content_type="application/json")


def _int_param(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise _error(web.HTTPBadRequest, f"{name} must be an integer from 1 to {maximum}")
    return int(raw)


def add_routes(app: web.Application) -> None:
    """Serve the API on ``app``."""
    categories = {name: category_items(name) for name in category_names()}

    async def list_categories(_request: web.Request) -> web.Response:
        listed = [
            {"name": name, "items": len(items), "url": _items_url(name, 1, DEFAULT_PER_PAGE)}
            for name, items in categories.items()
        ]
        return web.json_response({"categories": listed})

    async def category_page(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in categories:
            raise _error(web.HTTPNotFound, f"unknown category {name!r}")
        page = _int_param(request, "page", 1, 1_000_000)
        per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        items = categories[name]
        start = (page - 1) * per_page
        more = start + per_page < len(items)
        return web.json_response(
            {
                "category": name,
                "page": page,
                "per_page": per_page,
                "total": len(items),
                "items": items[start : start + per_page],
                "next": _items_url(name, page + 1, per_page) if more else None,
            }
        )

    app.router.add_get("/api/categories", list_categories)
    app.router.add_get("/api/categories/{name}/items", category_page)
