"""The example scrapers images/jsonapi and images/links against the demo site.

Each runs in a real container, as a Giver runs it (the ``runner`` fixture and
``run_task``; network "bridge" reaches the demo site on 127.0.0.1 through the
``site_gateway`` fixture, which lets it reach nothing else of this machine).
The demo site's API and wiki, and the scrapers' parsing functions, are also
tested on the host.
"""

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import demo_api
import demo_wiki
import pytest
from support.base import REPO
from support.docker import run_task

from channel.wire.models import KeyBlock, Limits, Task
from channel.wire.results import KeyOutcome
from giver.egress.gateway import Gateway
from giver.sandbox.docker_runner import DockerRunner
from giver.sandbox.outputs import ScraperOutput

IMAGES_DIR = REPO / "images"
LIMITS = Limits(memory_bytes=256 * 1024 * 1024, pids=64, timeout_s=90)


@pytest.fixture(scope="module")
def scrapers() -> Iterator[dict[str, ModuleType]]:
    """images/jsonapi/scraper.py and images/links/scraper.py, imported on the host."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "dont_write_bytecode", True)
        patch.syspath_prepend(str(IMAGES_DIR / "sdk"))
        modules = {}
        for name in ("jsonapi", "links"):
            spec = importlib.util.spec_from_file_location(
                f"{name}_scraper", IMAGES_DIR / name / "scraper.py"
            )
            assert spec is not None and spec.loader is not None
            modules[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(modules[name])
        yield modules


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The lines of a .jsonl file, decoded; none if there is no such file."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def example_task(image: str, keys: list[str], settings: dict[str, Any], **fields: Any) -> Task:
    return Task(
        task_id=f"t{uuid.uuid4().hex[:8]}",
        job_id="examples",
        image=image,
        settings=settings,
        block=KeyBlock(keys=tuple(keys)),
        network="bridge",
        limits=LIMITS,
        **fields,
    )


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as response:
        return response.status, await response.json()


# The demo site's API and wiki.


async def test_api_pages_through_a_category(demo_site_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        status, listed = await get(session, f"{demo_site_url}/api/categories")
        assert status == 200
        assert [(c["name"], c["items"]) for c in listed["categories"]] == [
            (name, len(demo_api.category_items(name))) for name in demo_api.category_names()
        ]
        url: str | None = f"{demo_site_url}/api/categories/new/items?per_page=3"
        pages = []
        while url is not None:
            status, page = await get(session, url)
            assert status == 200
            pages.append(page)
            url = page["next"] and f"{demo_site_url}{page['next']}"
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert [len(p["items"]) for p in pages] == [3, 3, 2]
    assert [item for p in pages for item in p["items"]] == demo_api.category_items("new")
    assert pages[0]["next"] == "/api/categories/new/items?page=2&per_page=3"


async def test_api_empty_category_past_the_end_and_errors(demo_site_url: str) -> None:
    api = f"{demo_site_url}/api/categories"
    async with aiohttp.ClientSession() as session:
        assert await get(session, f"{api}/clearance/items") == (
            200,
            {
                "category": "clearance",
                "page": 1,
                "per_page": 10,
                "total": 0,
                "items": [],
                "next": None,
            },
        )
        status, page = await get(session, f"{api}/new/items?page=2")
        assert (status, page["items"], page["next"]) == (200, [], None)
        assert await get(session, f"{api}/nope/items") == (
            404,
            {"error": "unknown category 'nope'"},
        )
        for query in ("per_page=0", "per_page=101", "page=0", "page=x"):
            status, body = await get(session, f"{api}/new/items?{query}")
            assert status == 400, query
            assert "must be an integer" in body["error"]


async def test_wiki_closure_is_its_pages_and_one_broken_link(
    demo_site_url: str, scrapers: dict[str, ModuleType]
) -> None:
    links = scrapers["links"]
    scope = links.LinkScope(same_host=True, path_prefix="/wiki/")
    start = f"{demo_site_url}/wiki/{demo_wiki.START}"
    seen, pending, broken = {start}, [start], []
    async with aiohttp.ClientSession() as session:
        while pending:
            url = pending.pop()
            async with session.get(url) as response:
                if response.status == 404:
                    broken.append(url)
                    continue
                assert response.status == 200
                _, hrefs = links.parse_page(await response.text())
            found = [u for u in scope.links(url, hrefs) if u not in seen]
            seen.update(found)
            pending.extend(found)
    assert seen == {f"{demo_site_url}/wiki/{t}" for t in (*demo_wiki.TITLES, demo_wiki.BROKEN)}
    assert broken == [f"{demo_site_url}/wiki/{demo_wiki.BROKEN}"]


# Parsing, on the host.


def test_jsonapi_reads_pages_and_rejects_bad_answers(scrapers: dict[str, ModuleType]) -> None:
    jsonapi = scrapers["jsonapi"]
    url = "http://shop.test/api/categories/a%2Fb/items?page=1&per_page=5"
    assert jsonapi.first_page_url(jsonapi.Settings("http://shop.test/", per_page=5), "a/b") == url
    assert jsonapi.read_page({"items": [{"id": 1}], "next": "?page=2"}, url) == (
        [{"id": 1}],
        "http://shop.test/api/categories/a%2Fb/items?page=2",
    )
    assert jsonapi.read_page({"items": [], "next": None}, url) == ([], None)
    bad = (
        ([], "not a JSON object"),
        ({"next": None}, "items is not a list of objects"),
        ({"items": [1], "next": None}, "items is not a list of objects"),
        ({"items": [], "next": 3}, "next is not a URL or null"),
        ({"items": [], "next": ""}, "next is not a URL or null"),
    )
    for answer, reason in bad:
        with pytest.raises(jsonapi.seekgive_sdk.KeyFailed, match=reason):
            jsonapi.read_page(answer, url)


def test_links_parses_title_and_hrefs(scrapers: dict[str, ModuleType]) -> None:
    page = """<html><head><title>
      A &amp; B\n  page</title><title>second</title></head>
      <body><a href="/x?a=1&amp;b=2">x</a><a name="no-href">n</a><A HREF=" y ">y</A>
      <svg><title>icon</title></svg></body></html>"""
    assert scrapers["links"].parse_page(page) == ("A & B page", ["/x?a=1&b=2", " y "])
    assert scrapers["links"].parse_page("<p>no title</p>") == ("", [])


def test_links_scope(scrapers: dict[str, ModuleType]) -> None:
    links = scrapers["links"]
    page = "http://site.test/wiki/A#intro"
    hrefs = [
        "B",
        "/wiki/B#history",
        "./B",
        "#top",
        "",
        "A",
        "/shop/1",
        "http://SITE.test:80/wiki/C",
        "https://site.test/wiki/D",
        "http://site.test:8080/wiki/E",
        "http://other.test/wiki/F",
        "mailto:a@site.test",
        "javascript:void(0)",
        "http://site.test:bad/wiki/G",
    ]
    assert links.LinkScope(True, "/wiki/").links(page, hrefs) == [
        "http://site.test/wiki/B",
        "http://site.test/wiki/C",
    ]
    assert links.LinkScope(False, "").links(page, hrefs) == [
        "http://site.test/wiki/B",
        "http://site.test/shop/1",
        "http://site.test/wiki/C",
        "https://site.test/wiki/D",
        "http://site.test:8080/wiki/E",
        "http://other.test/wiki/F",
    ]


# In containers, as a Giver runs them.


async def test_jsonapi_follows_next_up_to_max_pages(
    runner: DockerRunner,
    jsonapi_image: str,
    demo_site_url: str,
    site_gateway: Gateway,
    tmp_path: Path,
) -> None:
    settings = {"base_url": demo_site_url, "per_page": 3, "max_pages": 4}
    task = example_task(jsonapi_image, ["new", "clearance", "nope", "furniture"], settings)
    run, output = await run_task(runner, task, tmp_path / "w", gateway=site_gateway)
    assert run.exit_code == 0, run.stderr_tail
    assert isinstance(output, ScraperOutput) and output.error is None
    assert output.outcomes == [
        KeyOutcome("new", True, None),
        KeyOutcome("clearance", True, None),
        KeyOutcome("nope", False, "unknown category"),
        KeyOutcome("furniture", True, None),
    ]
    new = demo_api.category_items("new")
    furniture = demo_api.category_items("furniture")[:12]
    assert len(new) == 8 and len(demo_api.category_items("furniture")) > 12
    assert output.records == [
        {"key": key, "data": {**item, "category": key, "page": i // 3 + 1}}
        for key, items in (("new", new), ("furniture", furniture))
        for i, item in enumerate(items)
    ]


async def test_jsonapi_refuses_settings_out_of_bounds(
    runner: DockerRunner,
    jsonapi_image: str,
    demo_site_url: str,
    site_gateway: Gateway,
    tmp_path: Path,
) -> None:
    task = example_task(jsonapi_image, ["new"], {"base_url": demo_site_url, "per_page": 101})
    run, output = await run_task(runner, task, tmp_path / "w", gateway=site_gateway)
    assert run.exit_code == 2
    assert isinstance(output, ScraperOutput)
    assert output.error is not None and "per_page" in output.error
    assert output.records == []


async def test_links_records_discovers_and_captures(
    runner: DockerRunner,
    links_image: str,
    demo_site_url: str,
    site_gateway: Gateway,
    tmp_path: Path,
) -> None:
    wiki = f"{demo_site_url}/wiki"
    keys = [f"{wiki}/Main_Page", f"{wiki}/Juniper", f"{wiki}/{demo_wiki.BROKEN}", "wiki/Oak"]
    task = example_task(links_image, keys, {"path_prefix": "/wiki/"})
    run, collected = await run_task(
        runner, replace(task, captures=True, discover=True), tmp_path / "w", gateway=site_gateway
    )
    assert run.exit_code == 0, run.stderr_tail
    output = tmp_path / "w" / "output"
    assert read_jsonl(output / "status.jsonl") == [
        {"key": keys[0], "ok": True, "reason": None},
        {"key": keys[1], "ok": True, "reason": None},
        {"key": keys[2], "ok": False, "reason": "not found"},
        {"key": keys[3], "ok": False, "reason": "not an absolute http(s) URL"},
    ]
    assert read_jsonl(output / "records.jsonl") == [
        {
            "key": key,
            "data": {"url": key, "title": f"{title.replace('_', ' ')} | Demo Wiki", "links": links},
            "capture": {"media_type": "text/html", "text": demo_wiki.render_page(title)},
        }
        for key, title, links in ((keys[0], "Main_Page", 2), (keys[1], "Juniper", 4))
    ]
    assert read_jsonl(output / "discovered.jsonl") == [
        {"key": keys[0], "found": [f"{wiki}/Alder", f"{wiki}/Beech"]},
        {
            "key": keys[1],
            "found": [
                f"{wiki}/Larch",
                f"{wiki}/Birch",
                f"{wiki}/Main_Page",
                f"{wiki}/{demo_wiki.BROKEN}",
            ],
        },
    ]
    # The Giver keeps each found key once, and the captures the task asked for.
    assert isinstance(collected, ScraperOutput)
    assert collected.discovered == (
        f"{wiki}/Alder",
        f"{wiki}/Beech",
        f"{wiki}/Larch",
        f"{wiki}/Birch",
        f"{wiki}/Main_Page",
        f"{wiki}/{demo_wiki.BROKEN}",
    )
    assert [r["capture"]["media_type"] for r in collected.records] == ["text/html"] * 2


async def test_links_discovers_at_most_max_links_per_page(
    runner: DockerRunner,
    links_image: str,
    demo_site_url: str,
    site_gateway: Gateway,
    tmp_path: Path,
) -> None:
    key = f"{demo_site_url}/wiki/{demo_wiki.START}"
    settings = {"same_host": False, "max_links_per_page": 3}
    task = example_task(links_image, [key], settings)
    run, collected = await run_task(
        runner, replace(task, discover=True), tmp_path / "w", gateway=site_gateway
    )
    assert run.exit_code == 0, run.stderr_tail
    output = tmp_path / "w" / "output"
    [record] = read_jsonl(output / "records.jsonl")
    assert record == {
        "key": key,
        "data": {"url": key, "title": "Main Page | Demo Wiki", "links": 5},
    }
    found = [f"{demo_site_url}/wiki/Alder", f"{demo_site_url}/wiki/Beech", f"{demo_site_url}/"]
    assert read_jsonl(output / "discovered.jsonl") == [{"key": key, "found": found}]
    assert isinstance(collected, ScraperOutput) and collected.discovered == tuple(found)


async def test_links_keeps_no_captures_or_keys_unless_asked(
    runner: DockerRunner,
    links_image: str,
    demo_site_url: str,
    site_gateway: Gateway,
    tmp_path: Path,
) -> None:
    keys = [f"{demo_site_url}/wiki/{title}" for title in demo_wiki.TITLES[:3]]
    task = example_task(links_image, keys, {"path_prefix": "/wiki/"})
    run, output = await run_task(runner, task, tmp_path / "w", gateway=site_gateway)
    assert run.exit_code == 0, run.stderr_tail
    assert isinstance(output, ScraperOutput) and output.error is None
    assert [o.ok for o in output.outcomes] == [True, True, True]
    assert [r["data"]["url"] for r in output.records] == keys
    written = tmp_path / "w" / "output"
    assert [sorted(r) for r in read_jsonl(written / "records.jsonl")] == [["data", "key"]] * 3
    assert read_jsonl(written / "discovered.jsonl") == []
