"""The API explorer at /api, over real HTTP from a real Seeker: a public page whose
files the Seeker serves itself under a Content-Security-Policy naming no other
site, and nothing else served beside them; in Chromium, it lists every operation
and runs one with the operator's token."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from conftest import OPERATOR_HEADERS, OPERATOR_TOKEN
from multidict import CIMultiDictProxy
from playwright.async_api import Browser, expect
from test_admin_pages import LAPTOP, Problems
from yarl import URL

from seeker.api.openapi import operations
from seeker.config import SeekerConfig
from seeker.daemon import Seeker

Headers = CIMultiDictProxy[str]
# The sources a page of the Seeker may name: itself, and data: URLs for images.
OWN_SOURCES = {"'self'", "'none'", "data:"}
TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
}
# Paths that try to reach other files: a path the router resolves out of
# /api/explorer matches no route, and an unmatched route needs an operator like any
# other (401, or 404 with a token); one that stays in is a name the Seeker does not serve.
TRAVERSALS = [
    "/api/explorer/..%2F..%2Fpyproject.toml",
    "/api/explorer/../../pyproject.toml",
    "/api/explorer/..%2Fv1%2Fjobs",
]
UNKNOWN = [
    "/api/explorer/no-such.js",
    "/api/explorer/index.html",
]


@pytest.fixture
async def seeker(tmp_path: Path) -> AsyncIterator[Seeker]:
    async with Seeker(SeekerConfig(port=0, data_dir=tmp_path, operator_token=OPERATOR_TOKEN)) as s:
        yield s


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


async def test_the_explorer_is_public_while_the_api_still_needs_a_token(seeker: Seeker) -> None:
    for path in ("/api", "/api/v1/openapi.json"):
        assert (await get(seeker, path))[0] == 200, path
    assert (await get(seeker, "/api/v1/jobs"))[0] == 401
    assert (await get(seeker, "/api/v1/jobs", **OPERATOR_HEADERS))[0] == 200


async def assert_not_served(seeker: Seeker, paths: list[str]) -> None:
    """None of `paths` is served: the traversals answer 401 or 404 (with a token 404),
    the unknown names 404 to anyone."""
    for path in paths:
        for headers in ({}, OPERATOR_HEADERS):
            status, _, body, _ = await get(seeker, path, **headers)
            assert status == 404 or (status == 401 and not headers), (path, status)
            assert b"[build-system]" not in body, path
        if path in UNKNOWN:
            assert (await get(seeker, path))[0] == 404, path


async def test_nothing_but_the_explorer_files_is_served_beside_them(seeker: Seeker) -> None:
    await assert_not_served(seeker, TRAVERSALS + UNKNOWN)


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

    assert problems == []
