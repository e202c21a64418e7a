"""The demo site's small wiki (part of scripts/demo_site.py): linked pages for link discovery.

``GET /wiki/{title}`` serves one of the PAGE_COUNT pages of TITLES (START is
the first); any other ``/wiki/`` path is a 404. Each page links a few others
in every form a crawler meets: relative (``Birch``), root-relative
(``/wiki/Birch``), with a fragment (``/wiki/Birch#see-also``), the same page
twice, a fragment of itself (``#top``), pages of the shop outside ``/wiki/``
(``/``, ``/products/N``), another host (``https://example.org/...``) and a
``mailto:`` address. Page i links page i+1 (the last links the first, a
cycle), so every page reaches every other; one page links BROKEN, which is a
404. The closure of START within ``/wiki/`` is therefore the PAGE_COUNT pages
plus BROKEN. Everything is fixed, the same on every run.
"""

import html

from aiohttp import web

TITLES = (
    "Main_Page",
    "Alder",
    "Ash",
    "Beech",
    "Birch",
    "Cedar",
    "Chestnut",
    "Elm",
    "Fig",
    "Ginkgo",
    "Hawthorn",
    "Hazel",
    "Holly",
    "Juniper",
    "Larch",
    "Linden",
    "Magnolia",
    "Maple",
    "Oak",
    "Olive",
    "Pine",
    "Plane",
    "Poplar",
    "Rowan",
    "Spruce",
    "Sycamore",
    "Walnut",
    "Willow",
    "Yew",
    "Douglas_Fir",
)
PAGE_COUNT = len(TITLES)
START = TITLES[0]
BROKEN = "Missing_Page"
BROKEN_FROM = "Juniper"
OTHER_HOST = "https://example.org"


def links_of(title: str) -> list[str]:
    """The ``href`` values of page ``title``'s links, in page order, as written."""
    i = TITLES.index(title)
    following = TITLES[(i + 1) % PAGE_COUNT]
    jump = TITLES[(i * 7 + 3) % PAGE_COUNT]
    hrefs = ["#top", following, f"/wiki/{jump}", f"/wiki/{following}#see-also", START, "/"]
    if i % 3 == 0:
        hrefs.append(f"/products/{i + 1}")
    if i % 5 == 0:
        hrefs.append(f"{OTHER_HOST}/wiki/{title}")
    if title == BROKEN_FROM:
        hrefs.append(f"/wiki/{BROKEN}")
    if i == 0:
        hrefs.append("mailto:editor@example.org")
    return hrefs


def render_page(title: str) -> str:
    """The HTML of wiki page ``title``."""
    name = title.replace("_", " ")
    items = "\n".join(
        f'  <li><a href="{html.escape(href)}">{html.escape(href)}</a></li>'
        for href in links_of(title)
    )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        f'<head><meta charset="utf-8"><title>{html.escape(name)} | Demo Wiki</title></head>\n'
        f'<body>\n<h1 id="top">{html.escape(name)}</h1>\n'
        f"<p>The {html.escape(name)} page of the demo wiki. See also:</p>\n"
        f"<ul>\n{items}\n</ul>\n</body>\n</html>\n"
    )


def add_routes(app: web.Application) -> None:
    """Serve the wiki on ``app``."""
    pages = {title: render_page(title) for title in TITLES}

    async def page(request: web.Request) -> web.Response:
        title = request.match_info["title"]
        if title not in pages:
            raise web.HTTPNotFound(text=f"no wiki page {title}")
        return web.Response(text=pages[title], content_type="text/html")

    app.router.add_get("/wiki/{title}", page)
