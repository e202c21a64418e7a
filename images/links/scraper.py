"""Links: web pages, and the pages they link to, found as new keys.

For key K (an absolute http or https URL) it fetches the page and records::

    {"url": K, "title": str, "links": int}

where ``title`` is the page's ``<title>`` (whitespace collapsed, "" if none)
and ``links`` the number of distinct links in scope. A link is resolved
against K and normalized (fragment dropped, host lowercased, default port
dropped); it is in scope when it is an http(s) URL other than K itself, with K's
scheme, host and port if ``same_host``, and with a path that starts with
``path_prefix``. The first ``max_links_per_page`` of them, in
page order, are discovered as new keys of the job (when the job takes them),
and the page's HTML is kept as a debug capture (when the job asks).
A key that is not an absolute http(s) URL fails with reason
"not an absolute http(s) URL", a page that is a 404 with "not found".
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import seekgive_sdk

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class Settings:
    same_host: bool = field(
        default=True,
        metadata={"help": "discover only links to the page's own scheme, host and port"},
    )
    path_prefix: str = field(
        default="",
        metadata={
            "help": "discover only links whose path starts with this, e.g. /wiki/ (empty: any)",
            "pattern": "^(/.*)?$",
        },
    )
    max_links_per_page: int = field(
        default=100,
        metadata={
            "help": "discover at most this many links of a page",
            "minimum": 1,
            "maximum": 1000,
        },
    )


class PageParser(HTMLParser):
    """Collects a page's first ``<title>`` text and the ``href`` of each ``<a>``, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.title: str | None = None
        self.hrefs: list[str] = []
        self._title_text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href is not None:
                self.hrefs.append(href)
        elif tag == "title" and self.title is None:
            self._title_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title_text is not None:
            self.title = " ".join("".join(self._title_text).split())
            self._title_text = None

    def handle_data(self, data: str) -> None:
        if self._title_text is not None:
            self._title_text.append(data)


def parse_page(html: str) -> tuple[str, list[str]]:
    """A page's title ("" if it has none) and the ``href`` values of its links, in order."""
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser.title or "", parser.hrefs


def normalize(url: str) -> str | None:
    """``url`` without its fragment, host lowercased and default port dropped; None unless
    it is an absolute http(s) URL with a host (and a valid port)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in SCHEMES or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path or "/", parts.query, ""))


@dataclass(frozen=True)
class LinkScope:
    """Which links of a page are in scope (see the module docstring)."""

    same_host: bool
    path_prefix: str

    def links(self, page_url: str, hrefs: list[str]) -> list[str]:
        """The distinct in-scope links of ``hrefs`` on ``page_url``, normalized, in order."""
        page = normalize(page_url)
        found: dict[str, None] = {}
        if page is None:
            return []
        origin = urlsplit(page)[:2]
        for href in hrefs:
            url = normalize(urljoin(page, href.strip()))
            if url is None or url == page or url in found:
                continue
            parts = urlsplit(url)
            if self.same_host and parts[:2] != origin:
                continue
            if parts.path.startswith(self.path_prefix):
                found[url] = None
        return list(found)


class Links(seekgive_sdk.Scraper[Settings]):
    """Pages of a site by URL: each page's title and link count; its links become new keys."""

    name = "links"
    settings_class = Settings
    resources = seekgive_sdk.Resources(network=True)
    rate_limit_per_s = 5.0
    key_timeout_s = 30.0
    scope: LinkScope

    def open(self, settings: Settings) -> None:
        self.scope = LinkScope(settings.same_host, settings.path_prefix)

    def scrape(self, key: str, ctx: seekgive_sdk.Context[Settings]) -> dict[str, Any]:
        url = normalize(key)
        if url is None:
            raise seekgive_sdk.KeyFailed("not an absolute http(s) URL")
        try:
            html = ctx.fetch_text(url)
        except seekgive_sdk.HTTPStatusError as e:
            if e.status == 404:
                raise seekgive_sdk.KeyFailed("not found") from e
            raise
        ctx.capture(html)
        title, hrefs = parse_page(html)
        links = self.scope.links(key, hrefs)
        ctx.discover(links[: ctx.settings.max_links_per_page])
        return {"url": key, "title": title, "links": len(links)}


if __name__ == "__main__":
    seekgive_sdk.run(Links)
