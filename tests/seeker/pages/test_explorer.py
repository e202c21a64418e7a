"""The API explorer at /api and the docs at /docs, over real HTTP from a real Seeker:
public pages whose files the Seeker serves itself under a Content-Security-Policy
naming no other site; the docs rendered with no raw HTML, linked to each other,
and nothing served from outside their folder; in Chromium, the explorer lists
every operation and runs one with the operator's token."""

import re
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDictProxy
from playwright.async_api import Browser, expect
from support.base import OPERATOR_HEADERS, OPERATOR_TOKEN, REPO
from support.browser import LAPTOP, Problems
from yarl import URL

from seeker.api.openapi import operations
from seeker.cli.main import parser
from seeker.cli.run import build_config
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import ConfigError
from seeker.pages import docs

Headers = CIMultiDictProxy[str]
# The sources a page of the Seeker may name: itself, and data: URLs for images.
OWN_SOURCES = {"'self'", "'none'", "data:"}
TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
}
# Paths that try to reach files outside docs/: a path the router resolves out of
# /docs matches no route, and an unmatched route needs an operator like any other
# (401, or 404 with a token); one that stays in is a name the Seeker does not serve.
TRAVERSALS = [
    "/docs/../pyproject.toml",
    "/docs/..%2Fpyproject.toml",
    "/docs/%2e%2e%2fpyproject.toml",
    "/docs/%2E%2E/pyproject.toml",
    "/docs/screenshots/..%2F..%2Fpyproject.toml",
    "/docs/screenshots/../../pyproject.toml",
    "/docs/static/..%2F..%2Fpyproject.toml",
    "/api/explorer/..%2F..%2Fpyproject.toml",
    "/api/explorer/../../pyproject.toml",
    "/api/explorer/..%2Fv1%2Fjobs",
]
UNKNOWN = [
    "/docs/jobs.md",
    "/docs/pyproject",
    "/docs/no-such-doc",
    "/docs/screenshots/no-such.png",
    "/docs/screenshots/deeper/no-such.png",
    "/docs/static/no-such.css",
    "/api/explorer/no-such.js",
    "/api/explorer/index.html",
]
EVIL = """# Evil <script>alert(1)</script> title

<script>alert(2)</script>

<img src="x" onerror="alert(3)">

[run](javascript:alert(4)) [secret](../secret.txt) [up](../../pyproject.toml)
[other](other.md#part) [home](../README.md) [away](https://example.org/)

![stolen](../secret.png) ![remote](https://example.org/x.png) ![shot](screenshots/a.png)
"""


async def get(seeker: Seeker, path: str, **headers: str) -> tuple[int, str, bytes, Headers]:
    """Status, content type, body and headers of GET `path`, sent as written (no `..`
    resolved, no escape decoded) and without a token unless given one."""
    async with aiohttp.ClientSession() as http:
        url = URL(seeker.url + path, encoded=True)
        async with http.get(url, headers=headers, allow_redirects=False) as response:
            body = await response.read()
            return response.status, response.content_type, body, response.headers


def policy(headers: Headers) -> dict[str, list[str]]:
    """The Content-Security-Policy's directives and their sources."""
    directives = [d.split() for d in headers["Content-Security-Policy"].split(";") if d.strip()]
    return {name: sources for name, *sources in directives}


def assert_own_policy(headers: Headers) -> None:
    """The policy names no other site, allows no eval and no inline script or style."""
    csp = policy(headers)
    assert {s for sources in csp.values() for s in sources} <= OWN_SOURCES, csp
    assert csp["default-src"] == csp["script-src"] == csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]


def linked_files(html: str) -> list[str]:
    """What a page loads: its scripts', stylesheets', icons' and images' URLs."""
    return re.findall(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]*)"', html)


async def assert_served_locally(seeker: Seeker, html: str) -> list[str]:
    """Every file the page loads is this Seeker's, served with its type, kept for
    good under its versioned URL and revalidated by its ETag; the files' URLs."""
    files = [url.replace("&amp;", "&") for url in linked_files(html) if url != "data:,"]
    for url in files:
        assert url.startswith("/") and not url.startswith("//"), url
        status, content_type, body, headers = await get(seeker, url)
        assert status == 200 and body, url
        assert content_type in TYPES[Path(url.partition("?")[0]).suffix], url
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        assert_own_policy(headers)
        again, *_ = await get(seeker, url, **{"If-None-Match": headers["ETag"]})
        assert again == 304, url
    return files


async def test_the_explorer_is_a_public_page_of_files_this_seeker_serves(seeker: Seeker) -> None:
    for path in ("/api", "/api/"):
        status, content_type, body, headers = await get(seeker, path)
        assert (status, content_type) == (200, "text/html"), path
        assert headers["Cache-Control"] == "no-cache"
        assert_own_policy(headers)
        html = body.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=", html)  # none inline
        assert 'data-url="/api/v1/openapi.json"' in html
        files = await assert_served_locally(seeker, html)
        names = {Path(url.partition("?")[0]).name for url in files}
        assert {"swagger-ui-bundle.js", "swagger-ui.css", "explorer.js"} <= names
    initializer = next(url for url in files if "explorer.js" in url)
    status, _, body, _ = await get(seeker, initializer)
    assert status == 200 and b"SwaggerUIBundle(" in body and b"validatorUrl: null" in body
    status, _, _, headers = await get(seeker, initializer.partition("?")[0])
    assert (status, headers["Cache-Control"]) == (200, "no-cache")


async def test_the_explorer_and_docs_are_public_while_the_api_still_needs_a_token(
    seeker: Seeker,
) -> None:
    for path in ("/api", "/docs", "/docs/jobs", "/api/v1/openapi.json"):
        assert (await get(seeker, path))[0] == 200, path
    assert (await get(seeker, "/api/v1/jobs"))[0] == 401
    assert (await get(seeker, "/api/v1/jobs", **OPERATOR_HEADERS))[0] == 200


async def test_the_docs_list_every_doc_and_render_them_with_their_links_and_screenshots(
    seeker: Seeker,
) -> None:
    status, content_type, body, headers = await get(seeker, "/docs")
    assert (status, content_type) == (200, "text/html")
    assert_own_policy(headers)
    index = body.decode()
    docs = sorted((REPO / "docs").glob("*.md"))
    assert len(docs) > 10
    for doc in docs:
        assert f'href="/docs/{doc.stem}"' in index, doc.name
    assert 'href="/docs/README"' in index
    await assert_served_locally(seeker, index)

    heading = (REPO / "docs" / "jobs.md").read_text().splitlines()[0].removeprefix("# ")
    status, _, body, _ = await get(seeker, "/docs/jobs")
    assert status == 200
    assert re.search(rf'<h1 id="[a-z-]+">{re.escape(heading)}</h1>', body.decode())

    status, _, body, headers = await get(seeker, "/docs/README")
    readme = body.decode()
    assert status == 200 and "<h1" in readme
    assert_own_policy(headers)
    assert 'href="/docs/jobs"' in readme and 'href="/docs/admin"' in readme
    assert 'href="docs/' not in readme and 'src="docs/' not in readme
    files = await assert_served_locally(seeker, readme)
    assert any(url.startswith("/docs/screenshots/overview.png?v=") for url in files)
    status, _, body, _ = await get(seeker, "/docs/admin")
    assert len(await assert_served_locally(seeker, body.decode())) > 5  # its screenshots
    status, _, body, _ = await get(seeker, "/docs/jobs")
    assert 'href="/docs/channel#retention"' in body.decode()
    assert '<h2 id="retention">' in (await get(seeker, "/docs/channel"))[2].decode()


async def test_markdown_shows_raw_html_as_text_and_links_only_what_is_served(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    docs = repo / "docs"
    (docs / "screenshots").mkdir(parents=True)
    (docs / "evil.md").write_text(EVIL)
    (docs / "other.md").write_text("# Other\n\n## Part\n")
    (docs / "screenshots" / "a.png").write_bytes((REPO / "docs/screenshots/jobs.png").read_bytes())
    (repo / "README.md").write_text("# Home\n\n[evil](docs/evil.md)\n")
    (repo / "secret.txt").write_text("secret")
    (repo / "secret.md").write_text("# Secret")
    (docs / "linked.md").symlink_to(repo / "secret.md")
    (docs / "screenshots" / "linked.png").symlink_to(repo / "secret.txt")
    config = SeekerConfig(
        port=0, data_dir=tmp_path / "seeker", operator_token=OPERATOR_TOKEN, docs_dir=docs
    )
    async with Seeker(config) as seeker:
        status, _, body, _ = await get(seeker, "/docs/evil")
        page = body.decode()
        assert status == 200
        assert "<script" not in page.lower() and "&lt;script&gt;alert(2)&lt;/script&gt;" in page
        assert "<title>Evil &lt;script&gt;alert(1)&lt;/script&gt; title · Seeker docs" in page
        assert "onerror" not in page.replace("&lt;img src=&quot;x&quot; onerror=", "")
        assert "javascript:" not in page.replace("[run](javascript:alert(4))", "")
        assert 'href="/docs/other#part"' in page and 'href="/docs/README"' in page
        assert 'href="https://example.org/"' in page  # a link away, not a fetch
        assert "<span>secret</span>" in page and "<span>up</span>" in page
        images = re.findall(r"<img [^>]*>", page)
        assert len(images) == 1 and 'src="/docs/screenshots/a.png?v=' in images[0]
        assert "stolen" in page and "remote" in page  # their text, not their files
        assert 'href="/docs/evil"' in (await get(seeker, "/docs/README"))[2].decode()
        assert '<h2 id="part">' in (await get(seeker, "/docs/other"))[2].decode()
        await assert_not_served(seeker, [*TRAVERSALS, *UNKNOWN, "/docs/secret", "/docs/linked"])
        assert (await get(seeker, "/docs/screenshots/linked.png"))[0] == 404


async def assert_not_served(seeker: Seeker, paths: list[str]) -> None:
    """None of `paths` is served: the traversals answer 401 or 404 (with a token 404),
    the unknown names 404 to anyone."""
    for path in paths:
        for headers in ({}, OPERATOR_HEADERS):
            status, _, body, _ = await get(seeker, path, **headers)
            assert status == 404 or (status == 401 and not headers), (path, status)
            assert b"[build-system]" not in body and b"secret" not in body, path
        if path in UNKNOWN:
            assert (await get(seeker, path))[0] == 404, path


async def test_nothing_outside_the_docs_and_the_explorer_files_is_served(seeker: Seeker) -> None:
    await assert_not_served(seeker, TRAVERSALS + UNKNOWN)
    _, content_type, body, headers = await get(seeker, "/docs/no-such-doc")
    assert content_type == "text/html" and b'href="/docs"' in body
    assert_own_policy(headers)


async def test_a_seeker_without_docs_says_how_to_serve_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(docs, "checkout_docs", lambda: None)
    async with Seeker(SeekerConfig(port=0, data_dir=tmp_path, operator_token=OPERATOR_TOKEN)) as s:
        status, content_type, body, _ = await get(s, "/docs")
        assert (status, content_type) == (404, "text/html")
        assert b"--docs-dir" in body
        assert (await get(s, "/docs/jobs"))[0] == 404
        assert (await get(s, "/api"))[0] == 200
    missing = SeekerConfig(port=0, data_dir=tmp_path, docs_dir=tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"docs_dir: .*nowhere is not a folder"):
        async with Seeker(missing):
            pass


def test_docs_dir_comes_from_its_flag_or_variable() -> None:
    args = parser().parse_args(["run", "--docs-dir", "here/docs"])
    assert build_config(args, {}).docs_dir == Path("here/docs")
    args = parser().parse_args(["run"])
    assert build_config(args, {"SEEKGIVE_SEEKER_DOCS_DIR": "there"}).docs_dir == Path("there")
    assert build_config(args, {}).docs_dir is None


async def test_the_admin_pages_link_the_explorer_and_the_docs(seeker: Seeker) -> None:
    for path, headers in (("/admin/", OPERATOR_HEADERS), ("/admin/login", {})):
        status, _, body, _ = await get(seeker, path, **headers)
        assert status == 200, path
        assert b'href="/api"' in body and b'href="/docs"' in body, path


async def test_in_chromium_the_explorer_lists_every_operation_and_runs_one_with_a_token(
    seeker: Seeker, browser: Browser
) -> None:
    problems = Problems()
    page = await browser.new_page(viewport=LAPTOP)
    problems.watch(page)
    await page.goto(f"{seeker.url}/api")
    await expect(page.locator(".opblock")).to_have_count(len(operations()))
    jobs = page.locator("#operations-jobs-listJobs")
    await jobs.locator(".opblock-summary-control").click()
    await jobs.get_by_role("button", name="Try it out").click()
    await jobs.get_by_role("button", name="Execute").click()
    status = jobs.locator(".live-responses-table td.response-col_status:not(.col_header)")
    await expect(status).to_have_text("401")
    await page.get_by_role("button", name="Authorize").first.click()
    await page.locator("#auth-bearer-value").fill(OPERATOR_TOKEN)
    await page.get_by_role("button", name="Apply credentials").click()
    await page.get_by_role("button", name="Close", exact=True).click()
    await jobs.get_by_role("button", name="Execute").click()
    await expect(status).to_have_text("200")
    await expect(jobs.locator(".live-responses-table")).to_contain_text('"jobs"')
    # The 401 above is the one console error a browser reports for it.
    problems[:] = [p for p in problems if "401 (Unauthorized)" not in p]

    await page.goto(f"{seeker.url}/docs/README")
    await expect(page.locator("h1")).to_have_count(1)
    shot = page.locator("img").first
    await expect(shot).to_be_visible()
    assert await shot.evaluate("image => image.complete && image.naturalWidth > 0")
    await page.get_by_role("link", name="docs/jobs.md").first.click()
    await expect(page).to_have_url(f"{seeker.url}/docs/jobs")
    assert problems == []
