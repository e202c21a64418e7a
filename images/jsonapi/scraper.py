"""JSON API: the items of a demo shop category, page after page.

For key K (a category name) it reads
``{base_url}/api/categories/K/items?page=1&per_page=N`` and follows each
answer's ``next`` URL (resolved against the page it came from) until it is
null or ``max_pages`` pages are read. Every item of every page becomes one
record: the item as the API gives it, plus ``category`` and ``page``. An
unknown category (HTTP 404) fails the key with reason "unknown category".
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin

import seekgive_sdk


@dataclass
class Settings:
    base_url: str = field(
        default="http://127.0.0.1:8080", metadata={"help": "root URL of the demo shop"}
    )
    per_page: int = field(
        default=20, metadata={"help": "items asked for per page", "minimum": 1, "maximum": 100}
    )
    max_pages: int = field(
        default=100,
        metadata={"help": "pages read per category at most", "minimum": 1, "maximum": 1000},
    )


def first_page_url(settings: Settings, category: str) -> str:
    """The URL of the first page of ``category``'s items."""
    return (
        f"{settings.base_url.rstrip('/')}/api/categories/{quote(category, safe='')}"
        f"/items?page=1&per_page={settings.per_page}"
    )


def read_page(answer: Any, url: str) -> tuple[list[dict[str, Any]], str | None]:
    """The items of one API answer and the absolute URL of the next page (None: last page).

    Fails the key (KeyFailed) if the answer is not shaped as the API promises.
    """
    if not isinstance(answer, dict):
        raise seekgive_sdk.KeyFailed(f"bad answer from {url}: not a JSON object")
    items, following = answer.get("items"), answer.get("next")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise seekgive_sdk.KeyFailed(f"bad answer from {url}: items is not a list of objects")
    if following is not None and (not isinstance(following, str) or not following):
        raise seekgive_sdk.KeyFailed(f"bad answer from {url}: next is not a URL or null")
    return items, None if following is None else urljoin(url, following)


def scrape(key: str, ctx: seekgive_sdk.Context[Settings]) -> list[dict[str, Any]]:
    """The items of a demo shop category (the key), one record each, read page after page."""
    records: list[dict[str, Any]] = []
    url: str | None = first_page_url(ctx.settings, key)
    page = 0
    while url is not None and page < ctx.settings.max_pages:
        page += 1
        try:
            answer = ctx.fetch_json(url)
        except seekgive_sdk.HTTPStatusError as e:
            if e.status == 404 and page == 1:
                raise seekgive_sdk.KeyFailed("unknown category") from e
            raise
        items, next_url = read_page(answer, url)
        records.extend({**item, "category": key, "page": page} for item in items)
        url = next_url
    return records


if __name__ == "__main__":
    seekgive_sdk.run(
        scrape,
        Settings,
        name="jsonapi",
        resources=seekgive_sdk.Resources(network=True, memory_mib=256),
        rate_limit_per_s=20,
        key_timeout_s=60,
    )
