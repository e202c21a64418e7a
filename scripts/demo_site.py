"""A deterministic demo site for trying and testing scrapers.

It serves, the same on every run:

- the shop: PRODUCT_COUNT product pages at ``/products/{n}`` (n =
  1..PRODUCT_COUNT, products from scripts/demo_products.py) and an index at
  ``/`` linking them;
- its JSON API, paginated: ``/api/categories`` and
  ``/api/categories/{name}/items?page=N&per_page=M`` (scripts/demo_api.py);
- a wiki of linked pages at ``/wiki/{title}`` (scripts/demo_wiki.py);

and 404 for anything else.

Run it with ``python scripts/demo_site.py --port 8080``; tests import it as
``demo_site`` and use :func:`serve`.
"""

import argparse
import html
import logging

import demo_api
import demo_wiki
from aiohttp import web
from demo_products import PRODUCT_COUNT, product

logger = logging.getLogger(__name__)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        f'<head><meta charset="utf-8"><title>{html.escape(title)} | Demo Shop</title></head>\n'
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def render_product(n: int) -> str:
    """The HTML product page of product ``n``, with schema.org microdata."""
    p = product(n)
    name = html.escape(p["name"])
    body = (
        '<main itemscope itemtype="https://schema.org/Product">\n'
        f'  <h1 itemprop="name">{name}</h1>\n'
        f'  <p class="sku">SKU: <span itemprop="sku">{html.escape(p["sku"])}</span></p>\n'
        '  <p class="offer" itemprop="offers" itemscope itemtype="https://schema.org/Offer">\n'
        f'    <span itemprop="price">{p["price"]:.2f}</span>\n'
        f'    <span itemprop="priceCurrency">{p["currency"]}</span>\n'
        "  </p>\n"
        '  <p><a href="/">All products</a></p>\n'
        "</main>"
    )
    return _page(p["name"], body)


def render_index() -> str:
    """The HTML index page linking every product."""
    items = "\n".join(
        f'  <li><a href="/products/{n}">{html.escape(product(n)["name"])}</a></li>'
        for n in range(1, PRODUCT_COUNT + 1)
    )
    return _page("All products", f"<h1>All products</h1>\n<ul>\n{items}\n</ul>")


async def _product(request: web.Request) -> web.Response:
    raw = request.match_info["n"]
    n = int(raw)
    if str(n) != raw or not 1 <= n <= PRODUCT_COUNT:
        raise web.HTTPNotFound(text=f"no product {raw}")
    return web.Response(text=render_product(n), content_type="text/html")


def make_app() -> web.Application:
    """The demo site as an aiohttp application."""
    index_html = render_index()

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=index_html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get(r"/products/{n:\d+}", _product)
    demo_api.add_routes(app)
    demo_wiki.add_routes(app)
    return app


async def serve(host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Start the demo site on ``host``:``port`` (0 picks a free port).

    Returns the runner (call ``await runner.cleanup()`` to stop) and the base URL
    actually bound, e.g. ``http://127.0.0.1:41234``.
    """
    runner = web.AppRunner(make_app())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    url_host = f"[{host}]" if ":" in host else host
    return runner, f"http://{url_host}:{bound_port}"


def main() -> None:
    """Command line: serve the demo site until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default %(default)s)")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logger.info(
        "demo site: %d products, %d categories, %d wiki pages",
        PRODUCT_COUNT,
        len(demo_api.category_names()),
        demo_wiki.PAGE_COUNT,
    )
    web.run_app(make_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
