"""The example catalog scraper (images/catalog/scraper.py) against the demo shop, on the host.

The ``demo_site_url`` fixture (conftest.py) serves scripts/demo_site.py on 127.0.0.1.
"""

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import demo_site
import pytest
from support.base import REPO

IMAGES_DIR = REPO / "images"
SCRAPER = IMAGES_DIR / "catalog" / "scraper.py"


async def run_scraper(tmp_path: Path, task: dict[str, Any], *args: str) -> tuple[int, str, Path]:
    """Run the catalog scraper on ``task``; return exit code, stderr and output directory."""
    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps(task), encoding="utf-8")
    output = tmp_path / "output"
    output.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(IMAGES_DIR / "sdk"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "SEEKGIVE_INPUT": str(task_file),
        "SEEKGIVE_OUTPUT": str(output),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRAPER),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stderr.decode(), output


def scraper_command(command: str) -> Any:
    """What the catalog scraper prints for ``command`` (schema or labels), decoded."""
    result = subprocess.run(
        [sys.executable, str(SCRAPER), command],
        env={**os.environ, "PYTHONPATH": str(IMAGES_DIR / "sdk"), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The lines of a .jsonl file, decoded."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_demo_site_serves_index_and_404s(demo_site_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{demo_site_url}/") as response:
            assert response.status == 200
            index = await response.text()
        assert index.count('<a href="/products/') == demo_site.PRODUCT_COUNT
        for path in ("/products/0", "/products/501", "/products/007", "/products/x", "/nope"):
            async with session.get(f"{demo_site_url}{path}") as response:
                assert response.status == 404, path


async def test_scrapes_products_and_fails_missing_ones(tmp_path: Path, demo_site_url: str) -> None:
    task = {
        "contract": 1,
        "task_id": "t1",
        "job_id": "catalog",
        "keys": ["1", "2", "3", "500", "501"],
        "settings": {"base_url": demo_site_url},
    }
    code, stderr, output = await run_scraper(tmp_path, task)
    assert code == 0, stderr
    expected = [
        {"key": str(n), "data": {**demo_site.product(n), "url": f"{demo_site_url}/products/{n}"}}
        for n in (1, 2, 3, 500)
    ]
    assert read_jsonl(output / "records.jsonl") == expected
    assert read_jsonl(output / "status.jsonl") == [
        {"key": "1", "ok": True, "reason": None},
        {"key": "2", "ok": True, "reason": None},
        {"key": "3", "ok": True, "reason": None},
        {"key": "500", "ok": True, "reason": None},
        {"key": "501", "ok": False, "reason": "not found"},
    ]
    assert json.loads((output / "progress.json").read_text()) == {"done": 5, "total": 5}


async def test_captures_keep_the_product_page(tmp_path: Path, demo_site_url: str) -> None:
    task = {
        "contract": 1,
        "task_id": "t5",
        "job_id": "catalog",
        "keys": ["7", "501"],
        "captures": True,
        "settings": {"base_url": demo_site_url},
    }
    code, stderr, output = await run_scraper(tmp_path, task)
    assert code == 0, stderr
    [record] = read_jsonl(output / "records.jsonl")
    assert record["data"]["sku"] == demo_site.product(7)["sku"]
    assert record["capture"]["media_type"] == "text/html"
    assert 'itemprop="sku"' in record["capture"]["text"]
    assert demo_site.product(7)["name"] in record["capture"]["text"]


async def test_range_of_products(tmp_path: Path, demo_site_url: str) -> None:
    task = {
        "contract": 1,
        "task_id": "t2",
        "job_id": "catalog",
        "range": [0, 21],
        "settings": {"base_url": demo_site_url, "timeout_s": 5},
    }
    code, stderr, output = await run_scraper(tmp_path, task)
    assert code == 0, stderr
    records = read_jsonl(output / "records.jsonl")
    assert [r["data"]["sku"] for r in records] == [
        demo_site.product(n)["sku"] for n in range(1, 21)
    ]
    status = read_jsonl(output / "status.jsonl")
    assert status[0] == {"key": "0", "ok": False, "reason": "not found"}
    assert all(s["ok"] for s in status[1:])


async def test_unreachable_site_fails_keys(tmp_path: Path) -> None:
    runner, url = await demo_site.serve("127.0.0.1", 0)
    await runner.cleanup()
    task = {
        "contract": 1,
        "task_id": "t3",
        "job_id": "catalog",
        "keys": ["1"],
        "settings": {"base_url": url, "timeout_s": 5},
    }
    code, stderr, output = await run_scraper(tmp_path, task)
    assert code == 0, stderr
    [status] = read_jsonl(output / "status.jsonl")
    assert not status["ok"]
    assert status["reason"].startswith("connection error")


async def test_bad_timeout_fails_the_task(tmp_path: Path) -> None:
    task = {
        "contract": 1,
        "task_id": "t4",
        "job_id": "catalog",
        "keys": ["1"],
        "settings": {"timeout_s": 0},
    }
    code, stderr, _ = await run_scraper(tmp_path, task)
    assert code == 2
    assert "timeout_s" in stderr


def test_schema_and_labels() -> None:
    schema = scraper_command("schema")
    assert schema["title"] == "catalog"
    assert list(schema["properties"]) == [
        "base_url",
        "timeout_s",
        "rate_limit_per_s",
        "key_timeout_s",
    ]
    assert schema["properties"]["timeout_s"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 10.0,
        "description": "timeout of each network step",
    }
    labels = scraper_command("labels")
    assert labels["org.opencontainers.image.title"] == "catalog"
    assert json.loads(labels["seekgive.settings-schema"]) == schema
    assert json.loads(labels["seekgive.resources"])["network"] is True


def import_scraper(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import scraper.py in-process, without writing bytecode into images/."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(IMAGES_DIR / "sdk"))
    spec = importlib.util.spec_from_file_location("catalog_scraper", SCRAPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parser_handles_content_attributes_and_void_elements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scraper = import_scraper(monkeypatch)
    page = """<div itemscope>
      <meta itemprop="sku" content=" A-1 ">
      <h1 itemprop="name">Big <em>red</em><br> Pot &amp; Lid</h1>
      <span itemprop="price" content="12.50">12,50 €</span>
      <meta itemprop="priceCurrency" content="EUR"/>
      <span itemprop="name">ignored second name</span>
    </div>"""
    assert scraper.parse_product(page, "u") == {
        "sku": "A-1",
        "name": "Big red Pot & Lid",
        "price": 12.5,
        "currency": "EUR",
        "url": "u",
    }


def test_parser_fails_key_on_incomplete_page(monkeypatch: pytest.MonkeyPatch) -> None:
    scraper = import_scraper(monkeypatch)
    with pytest.raises(scraper.seekgive_sdk.KeyFailed, match="page lacks sku, priceCurrency"):
        scraper.parse_product('<b itemprop="name">x</b><i itemprop="price">1</i>', "u")
