"""Example scraper: product pages of the seekgive demo shop (scripts/demo_site.py).

For key K it fetches ``{base_url}/products/K`` and reads the product's
schema.org microdata into one record::

    {"sku": str, "name": str, "price": float, "currency": str, "url": str}

A missing product (HTTP 404) fails the key with reason "not found". The page
is the record's capture when the job keeps captures.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote

import seekgive_sdk

PROPERTIES = ("sku", "name", "price", "priceCurrency")
VOID_ELEMENTS = frozenset("area base br col embed hr img input link meta source track wbr".split())


@dataclass
class Settings:
    """Settings of the catalog scraper."""

    base_url: str = field(
        default="http://127.0.0.1:8080",
        metadata={"help": "root URL of the demo shop", "format": "uri", "min_length": 1},
    )
    timeout_s: float = field(
        default=10.0, metadata={"help": "timeout of each network step", "exclusive_minimum": 0}
    )


class MicrodataParser(HTMLParser):
    """Collects the first value of each ``itemprop`` in PROPERTIES.

    The value is the element's ``content`` attribute if it has one, else its
    text with whitespace collapsed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._open: str | None = None
        self._depth = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._open is not None:
            if tag not in VOID_ELEMENTS:
                self._depth += 1
            return
        attributes = dict(attrs)
        prop = attributes.get("itemprop")
        if prop not in PROPERTIES or prop in self.values:
            return
        content = attributes.get("content")
        if content is not None:
            self.values[prop] = content.strip()
        elif tag not in VOID_ELEMENTS:
            self._open, self._depth, self._text = prop, 0, []

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or tag in VOID_ELEMENTS:
            return
        if self._depth:
            self._depth -= 1
            return
        self.values[self._open] = " ".join("".join(self._text).split())
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)


def parse_product(html: str, url: str) -> dict[str, str | float]:
    """Read one product record from a product page; KeyFailed if a field is missing."""
    parser = MicrodataParser()
    parser.feed(html)
    parser.close()
    missing = [prop for prop in PROPERTIES if not parser.values.get(prop)]
    if missing:
        raise seekgive_sdk.KeyFailed(f"page lacks {', '.join(missing)}")
    values = parser.values
    try:
        price = float(values["price"])
    except ValueError as e:
        raise seekgive_sdk.KeyFailed(f"bad price {values['price']!r}") from e
    return {
        "sku": values["sku"],
        "name": values["name"],
        "price": price,
        "currency": values["priceCurrency"],
        "url": url,
    }


def scrape(key: str, ctx: seekgive_sdk.Context[Settings]) -> dict[str, str | float]:
    """Product pages of the demo shop: one record per product."""
    url = f"{ctx.settings.base_url.rstrip('/')}/products/{quote(key, safe='')}"
    try:
        html = ctx.fetch_text(url, timeout_s=ctx.settings.timeout_s)
    except seekgive_sdk.HTTPStatusError as e:
        if e.status == 404:
            raise seekgive_sdk.KeyFailed("not found") from e
        raise
    ctx.capture(html)
    return parse_product(html, url)


if __name__ == "__main__":
    seekgive_sdk.run(
        scrape,
        Settings,
        name="catalog",
        resources=seekgive_sdk.Resources(network=True, memory_mib=256),
        key_timeout_s=30,
    )
