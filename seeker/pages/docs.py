"""The repository's documentation at /docs, for whoever has a Seeker at hand but
not the repository: every docs/*.md and the README rendered to HTML once at
startup, links between them rewritten to /docs/NAME, the screenshots served
beside them.

The Markdown is rendered by markdown-it-py with raw HTML off: a tag written in
a doc shows as text, and links with a script scheme are not made. Only what
was read at startup is served (each *.md directly in the folder, README.md
beside it, the images in its screenshots/ folder), looked up by name, so no
request ever names a path on disk.

The folder is `docs_dir` (`seeker run --docs-dir`), else the docs/ of the
checkout this code runs from. A Seeker installed as a package has no checkout:
without --docs-dir its /docs says how to give it one."""

import asyncio
import logging
import posixpath
import re
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from markdown_it import MarkdownIt
from markdown_it.token import Token

from seeker.errors import ConfigError
from seeker.pages.html import HEADER, STATIC, Asset, asset, html_page, public_file, versioned

log = logging.getLogger(__name__)

DOCS_URL = "/docs"
README = "README"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Seeker docs</title>
<link rel="stylesheet" href="{style}">
<link rel="icon" href="data:,">
</head>
<body>
{header}
<main class="doc">
{body}
</main>
</body>
</html>
"""
_MISSING = """<h1>No documentation here</h1>
<p>This Seeker runs from an installed package, which holds no docs/ folder. Start it
with <code>--docs-dir DIR</code> (or <code>SEEKGIVE_SEEKER_DOCS_DIR</code>), DIR being
the docs/ folder of a seekgive checkout, to read the documentation here.
The <a href="/api">API explorer</a> works without it.</p>"""


@dataclass(frozen=True, slots=True)
class Docs:
    """The pages by name (README and each doc's file name without .md), the index,
    the screenshots by file name and the stylesheet."""

    pages: dict[str, str]
    index: str
    images: dict[str, Asset]
    style: Asset


def _shell(style: Asset, title: str, body: str) -> str:
    """A page of the docs around `body` (HTML), titled `title` (text)."""
    href = escape(versioned(f"{DOCS_URL}/static/docs.css", style))
    return _PAGE.format(title=escape(title), style=href, header=HEADER, body=body)


DOCS = web.AppKey("docs", Docs)


def add_docs_routes(app: web.Application, docs_dir: Path | None) -> list[web.AbstractRoute]:
    """The docs under /docs, read from `docs_dir` (else the checkout's) when `app`
    starts; the routes, all of them public."""

    async def load(app: web.Application) -> None:
        app[DOCS] = await asyncio.to_thread(read_docs, docs_dir)

    app.on_startup.append(load)
    return [
        app.router.add_get(DOCS_URL, docs_index),
        app.router.add_get(DOCS_URL + "/", docs_index),
        app.router.add_get(DOCS_URL + "/static/docs.css", docs_style),
        app.router.add_get(DOCS_URL + "/screenshots/{name}", docs_image),
        app.router.add_get(DOCS_URL + "/{name}", docs_page),
        # Anything else under /docs is no page either, whoever asks.
        app.router.add_get(DOCS_URL + "/{path:.+}", docs_page),
    ]


def checkout_docs() -> Path | None:
    """The docs/ folder of the checkout this code runs from, if it runs from one."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "docs").is_dir():
        return root / "docs"
    return None


def read_docs(docs_dir: Path | None) -> Docs:
    """Every page rendered and every image read (blocking: run it in a thread)."""
    style = asset(
        "docs.css", (STATIC / "header.css").read_bytes() + (STATIC / "docs.css").read_bytes()
    )
    folder = docs_dir or checkout_docs()
    if folder is None:
        log.info("no documentation to serve at %s: start with --docs-dir to serve some", DOCS_URL)
        return Docs({}, _shell(style, "Documentation", _MISSING), {}, style)
    if not folder.is_dir():
        raise ConfigError("docs_dir", f"{folder} is not a folder")
    sources = {path.stem: path for path in _inside(folder, "*.md") if _NAME.fullmatch(path.stem)}
    readme = folder.parent / "README.md"
    if readme.is_file():
        sources.setdefault(README, readme)
    images = {
        path.name: asset(path.name, path.read_bytes())
        for path in _inside(folder / "screenshots", "*")
        if path.suffix.lower() in _IMAGE_SUFFIXES
    }
    render = _Renderer(folder.name, set(sources), images)
    titled = {
        name: render.page(path.read_text(encoding="utf-8"), name == README)
        for name, path in sources.items()
    }
    pages = {name: _shell(style, title, body) for name, (title, body) in titled.items()}
    names = sorted(titled, key=lambda name: (name != README, name))
    items = "\n".join(
        f'<li><a href="{DOCS_URL}/{name}">{escape(titled[name][0])}</a> '
        f"<code>{escape(sources[name].name)}</code></li>"
        for name in names
    )
    index = _shell(style, "Documentation", f"<h1>Documentation</h1>\n<ul>\n{items}\n</ul>")
    return Docs(pages, index, images, style)


def _inside(folder: Path, pattern: str) -> list[Path]:
    """The regular files matching `pattern` directly in `folder`, none of them a
    link to somewhere else."""
    if not folder.is_dir():
        return []
    real = folder.resolve()
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.resolve().parent == real)


class _Renderer:
    """Markdown to HTML, with links to the docs and their screenshots pointing here
    and links to other files of the repository left as text."""

    def __init__(self, folder: str, names: set[str], images: dict[str, Asset]) -> None:
        markdown = MarkdownIt("commonmark", {"html": False})
        self._markdown = markdown.enable(["table", "strikethrough"])
        self._folder = folder
        self._names = names
        self._images = images

    def page(self, text: str, at_root: bool) -> tuple[str, str]:
        """The title (text of the first heading) and body (HTML) of one doc; the
        README is `at_root`, beside the docs' folder rather than in it."""
        tokens = self._markdown.parse(text)
        title = ""
        ids: set[str] = set()
        # An inline token (a block's text) always follows the token opening its block.
        for before, token in pairwise(tokens):
            if token.type != "inline" or token.children is None:
                continue
            self._relink(token.children, "" if at_root else self._folder)
            if before.type == "heading_open":
                heading = "".join(c.content for c in token.children if c.type != "image")
                before.attrs["id"] = _anchor(heading, ids)
                title = title or (heading if before.tag == "h1" else "")
        body = self._markdown.renderer.render(tokens, self._markdown.options, {})
        return title or "Untitled", body

    def _relink(self, children: list[Token], base: str) -> None:
        opened: list[Token] = []
        for token in children:
            if token.type == "image":
                src = self._target(str(token.attrs.get("src", "")), base, image=True)
                if src is None:
                    token.type, token.attrs = "text", {}
                else:
                    token.attrs["src"] = src
            elif token.type == "link_open":
                opened.append(token)
                href = self._target(str(token.attrs.get("href", "")), base, image=False)
                if href is None:
                    token.tag, token.attrs = "span", {}
                else:
                    token.attrs["href"] = href
            elif token.type == "link_close" and opened:
                token.tag = opened.pop().tag

    def _target(self, url: str, base: str, *, image: bool) -> str | None:
        """Where `url`, written in a doc in folder `base` of the repository, points on
        this Seeker; None for a file it does not serve. Links elsewhere stay."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith(("#", "/")):
            return None if image else url
        path = posixpath.normpath(posixpath.join(base, parts.path))
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        folder, _, name = path.rpartition("/")
        if image:
            found = self._images.get(name) if folder == f"{self._folder}/screenshots" else None
            return versioned(f"{DOCS_URL}/screenshots/{name}", found) if found else None
        if path == "README.md" and README in self._names:
            return f"{DOCS_URL}/{README}{fragment}"
        if folder == self._folder and name.endswith(".md") and name[:-3] in self._names:
            return f"{DOCS_URL}/{name[:-3]}{fragment}"
        return None


def _anchor(heading: str, taken: set[str]) -> str:
    """The id of a heading, as GitHub makes it (so `jobs.md#leases` works in both
    places): lowercase, punctuation dropped, spaces as dashes, numbered when taken."""
    base = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    anchor, n = base, 0
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


async def docs_index(request: web.Request) -> web.Response:
    docs = request.app[DOCS]
    return html_page(docs.index, status=200 if docs.pages else 404)


async def docs_page(request: web.Request) -> web.Response:
    docs = request.app[DOCS]
    page = docs.pages.get(request.match_info.get("name", ""))
    if page is not None:
        return html_page(page)
    body = f'<h1>No such page</h1>\n<p>See the <a href="{DOCS_URL}">index</a>.</p>'
    return html_page(_shell(docs.style, "No such page", body), status=404)


async def docs_image(request: web.Request) -> web.Response:
    return public_file(request, request.app[DOCS].images.get(request.match_info["name"]))


async def docs_style(request: web.Request) -> web.Response:
    return public_file(request, request.app[DOCS].style)
