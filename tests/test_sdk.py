"""Tests of the scraper SDK (images/sdk/seekgive_sdk), run on the host Python.

Runs of a scraper write a small scraper script and a task.json to a temporary
directory and run the script in a subprocess, as a container would. The
declaration, schema and settings logic is tested in-process.
"""

import asyncio
import importlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest
from aiohttp import web

SDK_DIR = Path(__file__).resolve().parent.parent / "images" / "sdk"

SCRAPER = """
import time
from dataclasses import dataclass, field

import seekgive_sdk


@dataclass
class Settings:
    prefix: str = field(default="v", metadata={"help": "prefix of each value"})
    repeat: int = field(default=1, metadata={"minimum": 1})
    scale: float = 1.0
    loud: bool = False


def scrape(key, ctx):
    \"\"\"Values made of the keys.

    Not part of the description.\"\"\"
    settings = ctx.settings
    if key == "bad":
        raise seekgive_sdk.KeyFailed("bad key")
    if key == "boom":
        raise ValueError("boom")
    if key == "none":
        ctx.capture("kept by no record")
        return None
    if key == "hang":
        time.sleep(60)
    if key == "swallow":
        try:
            time.sleep(60)
        except BaseException:
            return {"swallowed": True}
    if key.startswith("disc"):
        ctx.discover([key + "/a", key + "/b", key + "/a"])
        if key == "disc-fail":
            raise seekgive_sdk.KeyFailed("found, then failed")
        if key == "disc-bad":
            ctx.discover([""])
    if key == "flags":
        return {"capturing": ctx.capturing, "discovering": ctx.discovering}
    if key == "cap":
        ctx.capture("<p>first</p>")
        ctx.capture("<p>cap</p>")
    value = settings.prefix + key * settings.repeat
    record = {"value": value.upper() if settings.loud else value, "scale": settings.scale}
    if key in ("many", "cap"):
        return [record, {"second": True}]
    return record


if __name__ == "__main__":
    seekgive_sdk.run(scrape, Settings, name="test", key_timeout_s=30)
"""

CLASS_SCRAPER = """
from dataclasses import dataclass

import seekgive_sdk


@dataclass
class Settings:
    start: int = 0


class Counter(seekgive_sdk.Scraper[Settings]):
    \"\"\"Counts the keys it sees.\"\"\"

    name = "counter"
    settings_class = Settings
    resources = seekgive_sdk.Resources(network=True, memory_mib=64, cpus=0.5, timeout_s=30)
    rate_limit_per_s = 2

    def open(self, settings):
        self.count = settings.start

    def scrape(self, key, ctx):
        self.count += 1
        return {"count": self.count}

    def close(self):
        print(f"closed after {self.count}")


if __name__ == "__main__":
    seekgive_sdk.run(Counter)
"""


def make_task(**fields: Any) -> dict[str, Any]:
    """A valid contract-1 task with ``fields`` added or replaced."""
    task: dict[str, Any] = {"contract": 1, "task_id": "t1", "job_id": "j1", "settings": {}}
    task.update(fields)
    return task


class Run:
    """Paths and environment for running a scraper script on one task."""

    def __init__(self, tmp_path: Path, task: dict[str, Any], source: str = SCRAPER) -> None:
        self.script = tmp_path / "scraper.py"
        self.script.write_text(source, encoding="utf-8")
        self.task_file = tmp_path / "task.json"
        self.task_file.write_text(json.dumps(task), encoding="utf-8")
        self.output = tmp_path / "output"
        self.output.mkdir()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(SDK_DIR),
            "PYTHONDONTWRITEBYTECODE": "1",
            "SEEKGIVE_INPUT": str(self.task_file),
            "SEEKGIVE_OUTPUT": str(self.output),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the scraper script with ``args`` to completion."""
        return subprocess.run(
            [sys.executable, str(self.script), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def module(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``python -m seekgive_sdk ARGS`` to completion."""
        return subprocess.run(
            [sys.executable, "-m", "seekgive_sdk", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def jsonl(self, name: str) -> list[dict[str, Any]]:
        """The lines of an output .jsonl file, decoded."""
        text = (self.output / name).read_text(encoding="utf-8")
        assert text == "" or text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]

    def status(self) -> dict[str, tuple[bool, str | None]]:
        """status.jsonl as key -> (ok, reason), checking there is one line per key."""
        lines = self.jsonl("status.jsonl")
        status = {line["key"]: (line["ok"], line["reason"]) for line in lines}
        assert len(status) == len(lines)
        return status

    def progress(self) -> dict[str, Any]:
        """progress.json, decoded."""
        return json.loads((self.output / "progress.json").read_text(encoding="utf-8"))

    def files(self) -> list[str]:
        """The names of the files in the output directory."""
        return sorted(p.name for p in self.output.iterdir())


# --- running tasks ------------------------------------------------------------


def test_keys_records_status_and_progress(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["a", "many", "none"]))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert run.jsonl("records.jsonl") == [
        {"key": "a", "data": {"value": "va", "scale": 1.0}},
        {"key": "many", "data": {"value": "vmany", "scale": 1.0}},
        {"key": "many", "data": {"second": True}},
    ]
    assert run.jsonl("status.jsonl") == [
        {"key": "a", "ok": True, "reason": None},
        {"key": "many", "ok": True, "reason": None},
        {"key": "none", "ok": True, "reason": None},
    ]
    assert run.progress() == {"done": 3, "total": 3}
    assert run.files() == ["progress.json", "records.jsonl", "status.jsonl"]


def test_range_keys(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(range=[8, 12]))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert [r["key"] for r in run.jsonl("records.jsonl")] == ["8", "9", "10", "11"]
    assert list(run.status()) == ["8", "9", "10", "11"]
    assert run.progress() == {"done": 4, "total": 4}


def test_empty_range(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(range=[5, 5]))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert run.jsonl("records.jsonl") == []
    assert run.progress() == {"done": 0, "total": 0}


def test_failures_fail_only_their_key(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["a", "bad", "b", "boom", "c"]))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert run.status() == {
        "a": (True, None),
        "bad": (False, "bad key"),
        "b": (True, None),
        "boom": (False, "ValueError: boom"),
        "c": (True, None),
    }
    assert [r["key"] for r in run.jsonl("records.jsonl")] == ["a", "b", "c"]
    assert "ValueError: boom" in result.stderr
    assert run.progress() == {"done": 5, "total": 5}


def test_settings_are_converted(tmp_path: Path) -> None:
    settings = {"prefix": "x-", "repeat": 2.0, "scale": 3, "loud": True}
    run = Run(tmp_path, make_task(keys=["ab"], settings=settings))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert run.jsonl("records.jsonl") == [{"key": "ab", "data": {"value": "X-ABAB", "scale": 3.0}}]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"repeat": "2"}, "repeat"),
        ({"repeat": 2.5}, "repeat"),
        ({"repeat": True}, "repeat"),
        ({"repeat": 0}, "repeat"),
        ({"scale": "1.5"}, "scale"),
        ({"loud": 1}, "loud"),
        ({"prefix": 7}, "prefix"),
        ({"prefix": None}, "prefix"),
        ({"rate_limit_per_s": -1}, "rate_limit_per_s"),
        ({"key_timeout_s": 0}, "key_timeout_s"),
        ({"key_timeout_s": "60"}, "key_timeout_s"),
    ],
)
def test_bad_settings_fail_the_task(tmp_path: Path, settings: dict[str, Any], field: str) -> None:
    run = Run(tmp_path, make_task(keys=["a"], settings=settings))
    result = run.run()
    assert result.returncode == 2
    first_line = result.stderr.splitlines()[0]
    assert "invalid task: " in first_line
    assert f"'{field}'" in first_line
    assert not (run.output / "status.jsonl").exists()


@pytest.mark.parametrize("contract", [2, 0, "1", True, None])
def test_unknown_contract_fails_the_task(tmp_path: Path, contract: object) -> None:
    run = Run(tmp_path, make_task(keys=["a"], contract=contract))
    result = run.run()
    assert result.returncode == 2
    assert "unsupported contract" in result.stderr
    assert not (run.output / "status.jsonl").exists()


@pytest.mark.parametrize(
    "task",
    [
        make_task(),
        make_task(keys=["a"], range=[0, 1]),
        make_task(keys="a"),
        make_task(keys=["a", 1]),
        make_task(keys=["a", "a"]),
        make_task(range=[0]),
        make_task(range=[0, 1.5]),
        make_task(range=[3, 1]),
        make_task(keys=["a"], task_id=5),
        make_task(keys=["a"], settings=[]),
        make_task(keys=["a"], captures="yes"),
        make_task(keys=["a"], discover=1),
    ],
)
def test_malformed_task_fails_the_task(tmp_path: Path, task: dict[str, Any]) -> None:
    result = Run(tmp_path, task).run()
    assert result.returncode == 2
    assert "invalid task" in result.stderr


def test_unreadable_task_fails_the_task(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["a"]))
    run.task_file.write_text("{not json", encoding="utf-8")
    result = run.run()
    assert result.returncode == 2
    assert "cannot read task file" in result.stderr


def test_crash_outside_a_key_exits_1(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["a"]))
    run.output.rmdir()
    result = run.run()
    assert result.returncode == 1
    assert "run failed" in result.stderr


def test_unknown_argument_exits_2(tmp_path: Path) -> None:
    result = Run(tmp_path, make_task(keys=["a"])).run("scrape")
    assert result.returncode == 2
    assert "unexpected arguments ['scrape']" in result.stderr


def test_killed_run_leaves_complete_lines(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["a", "many", "hang", "b"]))
    status_file = run.output / "status.jsonl"
    with subprocess.Popen(
        [sys.executable, str(run.script)],
        env=run.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            deadline_s = time.monotonic() + 20
            while not (status_file.exists() and status_file.read_text().count("\n") == 2):
                assert time.monotonic() < deadline_s, "scraper did not reach the 'hang' key"
                time.sleep(0.05)
        finally:
            process.kill()
    assert list(run.status()) == ["a", "many"]
    assert [r["key"] for r in run.jsonl("records.jsonl")] == ["a", "many", "many"]
    assert run.progress()["total"] == 4


def test_class_form_keeps_state_across_keys(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["x", "y", "z"], settings={"start": 10}), CLASS_SCRAPER)
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert [r["data"] for r in run.jsonl("records.jsonl")] == [
        {"count": 11},
        {"count": 12},
        {"count": 13},
    ]
    assert result.stdout == "closed after 13\n"


# --- per-key timeout ------------------------------------------------------------


@pytest.mark.parametrize("key", ["hang", "swallow"])
def test_a_key_past_its_timeout_fails_and_the_run_goes_on(tmp_path: Path, key: str) -> None:
    run = Run(tmp_path, make_task(keys=["a", key, "b"], settings={"key_timeout_s": 0.2}))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert run.status() == {
        "a": (True, None),
        key: (False, "timed out after 0.2 s"),
        "b": (True, None),
    }
    assert [r["key"] for r in run.jsonl("records.jsonl")] == ["a", "b"]


# --- captures and discovered keys -----------------------------------------------


def test_captures_go_on_the_first_record_when_the_job_keeps_them(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["cap", "none", "flags"], captures=True))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert run.jsonl("records.jsonl") == [
        {
            "key": "cap",
            "data": {"value": "vcap", "scale": 1.0},
            "capture": {"media_type": "text/html", "text": "<p>cap</p>"},
        },
        {"key": "cap", "data": {"second": True}},
        {"key": "flags", "data": {"capturing": True, "discovering": False}},
    ]
    assert "discovered.jsonl" not in run.files()


def test_captures_are_dropped_when_the_job_does_not_keep_them(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["cap", "flags"]))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert run.jsonl("records.jsonl") == [
        {"key": "cap", "data": {"value": "vcap", "scale": 1.0}},
        {"key": "cap", "data": {"second": True}},
        {"key": "flags", "data": {"capturing": False, "discovering": False}},
    ]


def test_discovered_keys_of_ok_keys_are_written(tmp_path: Path) -> None:
    keys = ["disc1", "disc-fail", "disc-bad", "a", "disc2", "flags"]
    run = Run(tmp_path, make_task(keys=keys, discover=True))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert run.jsonl("discovered.jsonl") == [
        {"key": "disc1", "found": ["disc1/a", "disc1/b"]},
        {"key": "disc2", "found": ["disc2/a", "disc2/b"]},
    ]
    status = run.status()
    assert status["disc-fail"] == (False, "found, then failed")
    assert status["disc-bad"] == (
        False,
        "ValueError: a discovered key must be a non-empty str, not ''",
    )
    assert run.jsonl("records.jsonl")[-1]["data"] == {"capturing": False, "discovering": True}


def test_discovered_keys_are_dropped_when_the_job_does_not_take_them(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["disc1", "disc-bad"]))
    result = run.run()
    assert result.returncode == 0, result.stderr
    assert "discovered.jsonl" not in run.files()
    assert run.status()["disc1"] == (True, None)
    assert run.status()["disc-bad"][0] is False


# --- commands: schema, labels, --help -------------------------------------------


def test_schema_command_and_module(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["a"]))
    from_script = run.run("schema")
    assert from_script.returncode == 0, from_script.stderr
    schema = json.loads(from_script.stdout)
    assert schema["title"] == "test"
    assert schema["description"] == "Values made of the keys."
    assert list(schema["properties"]) == [
        "prefix",
        "repeat",
        "scale",
        "loud",
        "rate_limit_per_s",
        "key_timeout_s",
    ]
    assert schema["properties"]["repeat"] == {"type": "integer", "minimum": 1, "default": 1}
    assert schema["properties"]["key_timeout_s"]["default"] == 30
    from_module = run.module("schema", str(run.script))
    assert from_module.returncode == 0, from_module.stderr
    assert json.loads(from_module.stdout) == schema


def test_labels_module_reads_the_script_from_the_environment(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["a"]), CLASS_SCRAPER)
    run.env["SEEKGIVE_SCRAPER"] = str(run.script)
    result = run.module("labels")
    assert result.returncode == 0, result.stderr
    labels = json.loads(result.stdout)
    assert labels == json.loads(run.run("labels").stdout)
    assert set(labels) == {
        "seekgive.settings-schema",
        "seekgive.contract",
        "seekgive.resources",
        "org.opencontainers.image.title",
        "org.opencontainers.image.description",
    }
    assert all(isinstance(value, str) for value in labels.values())
    assert labels["seekgive.contract"] == "1"
    assert labels["org.opencontainers.image.title"] == "counter"
    assert labels["org.opencontainers.image.description"] == "Counts the keys it sees."
    assert json.loads(labels["seekgive.resources"]) == {
        "memory_bytes": 64 * 1024 * 1024,
        "cpus": 0.5,
        "timeout_s": 30.0,
        "network": True,
    }
    schema = json.loads(labels["seekgive.settings-schema"])
    assert labels["seekgive.settings-schema"] == json.dumps(schema, separators=(",", ":"))
    assert schema["properties"]["rate_limit_per_s"]["default"] == 2
    assert schema["properties"]["key_timeout_s"]["default"] == 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "usage: python -m seekgive_sdk"),
        (["run"], "usage: python -m seekgive_sdk"),
        (["schema", "nowhere.py"], "no scraper script at nowhere.py"),
    ],
)
def test_module_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = Run(tmp_path, make_task()).module(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_module_names_a_script_that_does_not_run(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(), "import seekgive_sdk\n")
    result = run.module("schema", str(run.script))
    assert result.returncode == 2
    assert "did not call seekgive_sdk.run" in result.stderr


def test_help_lists_settings(tmp_path: Path) -> None:
    result = Run(tmp_path, make_task(keys=["a"])).run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("test: Values made of the keys.\n")
    assert "  prefix (str, default 'v'): prefix of each value\n" in result.stdout
    assert "  repeat (int, default 1, >= 1)\n" in result.stdout
    assert "  loud (bool, default False)\n" in result.stdout
    assert "  key_timeout_s (float, default 30, > 0): " in result.stdout


# --- fetching over real HTTP ------------------------------------------------------

FETCHER = """
from dataclasses import dataclass

import seekgive_sdk


@dataclass
class Settings:
    base_url: str


def scrape(key, ctx):
    if key == "text":
        return {"text": ctx.fetch_text(f"{ctx.settings.base_url}/text")}
    return {"json": ctx.fetch_json(f"{ctx.settings.base_url}/{key}")}


if __name__ == "__main__":
    seekgive_sdk.run(scrape, Settings, name="fetcher", rate_limit_per_s=1000)
"""


@pytest.fixture
async def http_site() -> AsyncIterator[str]:
    """A small site on 127.0.0.1: /text, /json, /notjson, /missing (404)."""

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="héllo", charset="latin-1")

    async def json_body(request: web.Request) -> web.Response:
        assert request.headers["Accept"] == "application/json"
        return web.json_response({"items": [1, 2]})

    async def not_json(request: web.Request) -> web.Response:
        return web.Response(text="<html>")

    app = web.Application()
    app.router.add_get("/text", text)
    app.router.add_get("/json", json_body)
    app.router.add_get("/notjson", not_json)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_fetch_text_and_json(tmp_path: Path, http_site: str) -> None:
    keys = ["text", "json", "notjson", "missing"]
    run = Run(tmp_path, make_task(keys=keys, settings={"base_url": http_site}), FETCHER)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(run.script), env=run.env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert [r["data"] for r in run.jsonl("records.jsonl")] == [
        {"text": "héllo"},
        {"json": {"items": [1, 2]}},
    ]
    status = run.status()
    assert status["notjson"][0] is False
    assert status["notjson"][1].startswith(f"invalid JSON from {http_site}/notjson: ")
    assert status["missing"] == (False, "HTTP 404 Not Found")


# --- in-process units: declaration, schema, settings, context, rate limit ----------


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """seekgive_sdk imported in-process, without writing bytecode into images/."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(SDK_DIR))
    return importlib.import_module("seekgive_sdk")


def submodule(name: str) -> ModuleType:
    """A module of the SDK (after the ``sdk`` fixture imported the package)."""
    return importlib.import_module(f"seekgive_sdk.{name}")


@dataclass
class AllTypes:
    """Every supported setting type and metadata key."""

    token: str = field(metadata={"help": "API token", "min_length": 8, "pattern": "^[a-z0-9]+$"})
    base_url: str = field(
        default="http://127.0.0.1:8080",
        metadata={"title": "Base URL", "help": "root URL", "format": "uri", "max_length": 200},
    )
    pages: int = field(default=3, metadata={"minimum": 1, "maximum": 50})
    ratio: float = field(default=0.5, metadata={"exclusive_minimum": 0, "exclusive_maximum": 1})
    loud: bool = False
    mode: Literal["fast", "full"] = "fast"
    level: Literal[1, 2, 3] = 2
    tags: list[str] = field(default_factory=list, metadata={"max_length": 5, "pattern": "^#"})
    ids: list[int] = field(default_factory=lambda: [1, 2], metadata={"minimum": 0, "min_length": 1})
    weights: list[float] = field(default_factory=list)
    note: str | None = field(default=None, metadata={"max_length": 20})
    limit: int | None = None
    flavour: Literal["a", "b"] | None = None
    extra: list[str] | None = None


def scrape_nothing(key: str, ctx: Any) -> None:
    """Scrapes nothing.

    Second paragraph."""


def declare(sdk: ModuleType, settings_class: type | None = AllTypes, **kwargs: Any) -> Any:
    """The declaration of a function scraper named ``t`` with ``settings_class``."""
    return submodule("declaration").declare(
        scrape_nothing, settings_class, **{"name": "t", **kwargs}
    )


def test_schema_of_every_type_and_metadata(sdk: ModuleType) -> None:
    schema = submodule("schema").settings_schema(
        declare(sdk, rate_limit_per_s=5, key_timeout_s=30.5)
    )
    assert list(schema["properties"]) == [
        "token",
        "base_url",
        "pages",
        "ratio",
        "loud",
        "mode",
        "level",
        "tags",
        "ids",
        "weights",
        "note",
        "limit",
        "flavour",
        "extra",
        "rate_limit_per_s",
        "key_timeout_s",
    ]
    assert schema == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "t",
        "description": "Scrapes nothing.",
        "type": "object",
        "additionalProperties": False,
        "required": ["token"],
        "properties": {
            "token": {
                "type": "string",
                "minLength": 8,
                "pattern": "^[a-z0-9]+$",
                "description": "API token",
            },
            "base_url": {
                "title": "Base URL",
                "type": "string",
                "format": "uri",
                "maxLength": 200,
                "default": "http://127.0.0.1:8080",
                "description": "root URL",
            },
            "pages": {"type": "integer", "minimum": 1, "maximum": 50, "default": 3},
            "ratio": {
                "type": "number",
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "default": 0.5,
            },
            "loud": {"type": "boolean", "default": False},
            "mode": {"type": "string", "enum": ["fast", "full"], "default": "fast"},
            "level": {"type": "integer", "enum": [1, 2, 3], "default": 2},
            "tags": {
                "type": "array",
                "items": {"type": "string", "pattern": "^#"},
                "maxItems": 5,
                "default": [],
            },
            "ids": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0},
                "minItems": 1,
                "default": [1, 2],
            },
            "weights": {"type": "array", "items": {"type": "number"}, "default": []},
            "note": {"type": ["string", "null"], "maxLength": 20, "default": None},
            "limit": {"type": ["integer", "null"], "default": None},
            "flavour": {"type": ["string", "null"], "enum": ["a", "b", None], "default": None},
            "extra": {"type": ["array", "null"], "items": {"type": "string"}, "default": None},
            "rate_limit_per_s": {
                "type": "number",
                "minimum": 0,
                "default": 5,
                "description": "requests started per second, at most (0 = no limit)",
            },
            "key_timeout_s": {
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 30.5,
                "description": "seconds a key may take before it fails",
            },
        },
    }


def test_schema_without_settings_has_the_standard_ones(sdk: ModuleType) -> None:
    schema = submodule("schema").settings_schema(declare(sdk, None, description="x"))
    assert schema["description"] == "x"
    assert schema["required"] == []
    assert schema["properties"]["rate_limit_per_s"]["default"] == 0
    assert schema["properties"]["key_timeout_s"]["default"] == 60


def test_good_settings_are_built(sdk: ModuleType) -> None:
    declaration = declare(sdk)
    values = {
        "token": "abcdefgh1",
        "pages": 50,
        "ratio": 1e-9,
        "level": 3.0,
        "tags": ["#a"],
        "ids": [0, 7],
        "weights": [1, 2.5],
        "note": None,
        "limit": 4,
        "flavour": "b",
        "extra": ["x"],
        "key_timeout_s": 2,
    }
    settings, limits = submodule("settings").build_settings(
        declaration.settings_class, declaration.settings, values
    )
    assert settings == AllTypes(
        token="abcdefgh1",
        pages=50,
        ratio=1e-9,
        level=3,
        tags=["#a"],
        ids=[0, 7],
        weights=[1.0, 2.5],
        limit=4,
        flavour="b",
        extra=["x"],
    )
    assert type(settings.level) is int
    assert (limits.rate_limit_per_s, limits.key_timeout_s) == (0, 2.0)


@pytest.mark.parametrize(
    ("values", "setting", "message"),
    [
        ({"tokn": "x"}, "tokn", "unknown setting 'tokn' (known: token, base_url, "),
        ({"token": "short"}, "token", "'token' must be at least 8 characters long, got 5"),
        ({"token": "ABCDEFGHI"}, "token", "'token' must match the pattern '^[a-z0-9]+$'"),
        ({"base_url": "x" * 201}, "base_url", "must be at most 200 characters long"),
        ({"pages": 0}, "pages", "setting 'pages' must be at least 1, got 0"),
        ({"pages": 51}, "pages", "setting 'pages' must be at most 50, got 51"),
        ({"pages": 1.5}, "pages", "setting 'pages' must be of type int, got float 1.5"),
        ({"ratio": 0}, "ratio", "setting 'ratio' must be above 0, got 0.0"),
        ({"ratio": 1}, "ratio", "setting 'ratio' must be below 1, got 1.0"),
        ({"ratio": float("nan")}, "ratio", "must be of type float, got float nan"),
        ({"loud": "yes"}, "loud", "setting 'loud' must be of type bool, got str 'yes'"),
        ({"mode": "slow"}, "mode", "setting 'mode' must be one of 'fast', 'full', got 'slow'"),
        ({"level": 4}, "level", "setting 'level' must be one of 1, 2, 3, got 4"),
        ({"level": True}, "level", "must be of type 1 | 2 | 3, got bool True"),
        ({"tags": "#a"}, "tags", "setting 'tags' must be of type list[str], got str '#a'"),
        ({"tags": ["#a", "b"]}, "tags", "setting 'tags' item 1 must match the pattern '^#'"),
        ({"tags": ["#"] * 6}, "tags", "setting 'tags' must have at most 5 items, got 6"),
        ({"ids": []}, "ids", "setting 'ids' must have at least 1 items, got 0"),
        ({"ids": [1, -1]}, "ids", "setting 'ids' item 1 must be at least 0, got -1"),
        ({"weights": [None]}, "weights", "'weights' item 0 must be of type float, got null"),
        ({"note": 5}, "note", "setting 'note' must be of type str | None, got int 5"),
        ({"flavour": "c"}, "flavour", "must be one of 'a', 'b', got 'c'"),
        ({"rate_limit_per_s": -0.5}, "rate_limit_per_s", "must be at least 0, got -0.5"),
        ({"key_timeout_s": 0}, "key_timeout_s", "'key_timeout_s' must be above 0, got 0.0"),
    ],
)
def test_bad_settings_name_the_setting(
    sdk: ModuleType, values: dict[str, Any], setting: str, message: str
) -> None:
    declaration = declare(sdk)
    with pytest.raises(submodule("errors").TaskError) as caught:
        submodule("settings").build_settings(
            declaration.settings_class, declaration.settings, {"token": "abcdefgh", **values}
        )
    assert caught.value.setting == setting
    assert message in str(caught.value)


def test_missing_required_setting_is_named(sdk: ModuleType) -> None:
    declaration = declare(sdk)
    with pytest.raises(submodule("errors").TaskError, match="missing required setting 'token'"):
        submodule("settings").build_settings(AllTypes, declaration.settings, {"pages": 2})


def test_post_init_errors_fail_the_settings(sdk: ModuleType) -> None:
    @dataclass
    class Checked:
        low: int = 0
        high: int = 10

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError("low must not exceed high")

    declaration = declare(sdk, Checked)
    with pytest.raises(submodule("errors").TaskError, match="invalid settings: low must not"):
        submodule("settings").build_settings(Checked, declaration.settings, {"low": 11})


@dataclass
class WithDict:
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class WithListOfBool:
    flags: list[bool] = field(default_factory=list)


@dataclass
class WithUnion:
    either: int | str = 0


@dataclass
class WithMixedLiteral:
    choice: Literal["a", 1] = "a"


@dataclass
class WithStandardName:
    key_timeout_s: float = 5.0


@dataclass
class WithUnknownMetadata:
    size: int = field(default=1, metadata={"minimun": 0})


@dataclass
class WithMinimumOnStr:
    name: str = field(default="", metadata={"minimum": 1})


@dataclass
class WithPatternOnInt:
    size: int = field(default=1, metadata={"pattern": "^1$"})


@dataclass
class WithBadPattern:
    name: str = field(default="", metadata={"pattern": "("})


@dataclass
class WithBadDefault:
    size: int = field(default=0, metadata={"minimum": 1})


@dataclass
class WithWrongDefaultType:
    size: int = "1"  # type: ignore[assignment]


@dataclass
class WithNonStringHelp:
    size: int = field(default=1, metadata={"help": 5})


@pytest.mark.parametrize(
    ("settings_class", "message"),
    [
        (dict, "settings class must be a dataclass"),
        (WithDict, "setting 'options' has unsupported type"),
        (WithListOfBool, "setting 'flags' has unsupported type"),
        (WithUnion, "setting 'either' has unsupported type"),
        (WithMixedLiteral, "setting 'choice' has unsupported type"),
        (WithStandardName, "setting 'key_timeout_s' is a standard setting"),
        (WithUnknownMetadata, "setting 'size': unknown metadata 'minimun'"),
        (WithMinimumOnStr, "setting 'name': metadata 'minimum' applies to int and float"),
        (WithPatternOnInt, "setting 'size': metadata 'pattern' applies to str settings"),
        (WithBadPattern, "setting 'name': bad pattern '('"),
        (WithBadDefault, "bad default: setting 'size' must be at least 1, got 0"),
        (WithWrongDefaultType, "bad default: setting 'size' must be of type int"),
        (WithNonStringHelp, "setting 'size': metadata 'help' must be a string"),
    ],
)
def test_bad_settings_classes_are_refused(
    sdk: ModuleType, settings_class: type, message: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        declare(sdk, settings_class)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "Catalog"}, ValueError, "scraper name 'Catalog' must be lowercase"),
        ({"name": "a--b"}, ValueError, "scraper name 'a--b'"),
        ({"name": None}, TypeError, r"needs the scraper's name="),
        ({"rate_limit_per_s": -1}, TypeError, "'rate_limit_per_s' must be at least 0"),
        ({"key_timeout_s": 0}, TypeError, "'key_timeout_s' must be above 0"),
        ({"resources": {"network": True}}, TypeError, "resources must be a seekgive_sdk.Resources"),
    ],
)
def test_bad_declarations_are_refused(
    sdk: ModuleType, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        declare(sdk, None, **kwargs)


def test_class_form_declares_by_class_attributes(sdk: ModuleType) -> None:
    class Links(sdk.Scraper[AllTypes]):
        """Follows links.

        More words."""

        name = "links"
        settings_class = AllTypes
        resources = sdk.Resources(network=True)
        key_timeout_s = 5

        def scrape(self, key: str, ctx: Any) -> None:
            return None

    declaration = submodule("declaration").declare(Links)
    assert (declaration.name, declaration.description) == ("links", "Follows links.")
    assert declaration.resources.network is True
    assert [s.default for s in declaration.settings[-2:]] == [0, 5]
    assert isinstance(declaration.make_scraper(), Links)
    with pytest.raises(TypeError, match="declare name as a class attribute of Links"):
        submodule("declaration").declare(Links, name="other")


def test_class_without_scrape_or_name_is_refused(sdk: ModuleType) -> None:
    class Nameless(sdk.Scraper[Any]):
        def scrape(self, key: str, ctx: Any) -> None:
            return None

    with pytest.raises(ValueError, match="scraper name ''"):
        submodule("declaration").declare(Nameless)
    with pytest.raises(TypeError, match=r"not a seekgive_sdk\.Scraper"):
        submodule("declaration").declare(AllTypes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"network": 1}, "network must be a bool"),
        ({"memory_mib": 0}, "memory_mib must be an int > 0"),
        ({"memory_mib": 1.5}, "memory_mib must be an int > 0"),
        ({"cpus": 0}, "cpus must be a number > 0"),
        ({"timeout_s": -1}, "timeout_s must be a number > 0"),
    ],
)
def test_bad_resources_are_refused(sdk: ModuleType, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        sdk.Resources(**kwargs)


class FakeClock:
    """A clock that moves only when slept on or told to."""

    def __init__(self) -> None:
        self.now_s = 100.0
        self.sleeps_s: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.sleeps_s.append(seconds)
        self.now_s += seconds


def test_rate_limiter_spaces_request_starts(sdk: ModuleType) -> None:
    clock = FakeClock()
    limiter = submodule("ratelimit").RateLimiter(4, clock=clock, sleep=clock.sleep)
    limiter.wait()
    limiter.wait()
    limiter.wait()
    assert clock.sleeps_s == [0.25, 0.25]
    clock.now_s += 0.1
    limiter.wait()
    assert clock.sleeps_s == pytest.approx([0.25, 0.25, 0.15])
    clock.now_s += 10
    limiter.wait()
    assert len(clock.sleeps_s) == 3


def test_rate_limit_zero_never_waits(sdk: ModuleType) -> None:
    clock = FakeClock()
    limiter = submodule("ratelimit").RateLimiter(0, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.wait()
    assert clock.sleeps_s == []


class FakeTimer:
    """Stands for a KeyTimer in the middle of a key with ``left_s`` seconds left."""

    timeout_s = 30.0

    def __init__(self, left_s: float) -> None:
        self.left_s = left_s

    def time_left_s(self) -> float:
        return self.left_s


@pytest.fixture
def fetched(sdk: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The arguments of each fetch a Context makes; fetches return "page"."""
    calls: list[dict[str, Any]] = []

    def fake_fetch(url: str, **kwargs: Any) -> str:
        calls.append({"url": url, **kwargs})
        return "page"

    monkeypatch.setattr(submodule("context"), "fetch_text", fake_fetch)
    yield calls


def make_context(
    sdk: ModuleType, timer: FakeTimer | None = None, limiter: Any = None, **flags: bool
) -> Any:
    """A Context for key "k" without settings, as the SDK makes one per key."""
    return sdk.Context(
        "k",
        None,
        capturing=flags.get("capturing", False),
        discovering=flags.get("discovering", False),
        limiter=limiter or submodule("ratelimit").RateLimiter(0),
        timer=timer or FakeTimer(30.0),
    )


def test_fetches_wait_for_the_rate_limit_and_the_key_deadline(
    sdk: ModuleType, fetched: list[dict[str, Any]]
) -> None:
    clock = FakeClock()
    limiter = submodule("ratelimit").RateLimiter(2, clock=clock, sleep=clock.sleep)
    timer = FakeTimer(4.0)
    ctx = make_context(sdk, timer, limiter)
    assert ctx.fetch_text("http://a/1") == "page"
    ctx.fetch_text("http://a/2", timeout_s=1.5)
    ctx.fetch_text("http://a/3", timeout_s=10)
    assert clock.sleeps_s == [0.5, 0.5]
    assert [call["timeout_s"] for call in fetched] == [4.0, 1.5, 4.0]
    timer.left_s = 0.0
    ctx.fetch_text("http://a/4")
    assert fetched[-1]["timeout_s"] > 0


def test_capture_is_kept_only_when_capturing(sdk: ModuleType) -> None:
    capturing = make_context(sdk, capturing=True)
    capturing.capture("<html>")
    capturing.capture('{"a": 1}', media_type="application/json")
    assert capturing.captured == submodule("context").Capture("application/json", '{"a": 1}')
    quiet = make_context(sdk)
    quiet.capture("<html>")
    assert quiet.captured is None
    with pytest.raises(TypeError):
        quiet.capture(b"<html>")  # type: ignore[arg-type]


def test_discover_dedupes_and_is_kept_only_when_discovering(sdk: ModuleType) -> None:
    ctx = make_context(sdk, discovering=True)
    ctx.discover(["b", "a"])
    ctx.discover(iter(["a", "c"]))
    assert ctx.found == ["b", "a", "c"]
    quiet = make_context(sdk)
    quiet.discover(["a"])
    assert (quiet.discovering, quiet.found) == (False, [])


@pytest.mark.parametrize(
    ("keys", "error", "message"),
    [
        ("abc", TypeError, "not one str"),
        ([""], ValueError, "non-empty str"),
        ([17], ValueError, "non-empty str, not 17"),
        (["é" * 1025], ValueError, "at most 2048 UTF-8 bytes"),
        ([str(i) for i in range(1001)], ValueError, "at most 1000 keys"),
    ],
)
def test_discover_limits(sdk: ModuleType, keys: Any, error: type[Exception], message: str) -> None:
    ctx = make_context(sdk, discovering=True)
    ctx.discover(["kept"])
    with pytest.raises(error, match=message):
        ctx.discover(keys)
    assert ctx.found == ["kept"]


def test_discover_limits_allow_their_bounds(sdk: ModuleType) -> None:
    ctx = make_context(sdk, discovering=True)
    ctx.discover(["é" * 1024, *[str(i) for i in range(999)], "0", "1"])
    assert len(ctx.found) == 1000


# --- in-process units: output files ----------------------------------------------


def test_progress_is_throttled_and_final(tmp_path: Path, sdk: ModuleType) -> None:
    def progress() -> dict[str, int]:
        return json.loads((tmp_path / "progress.json").read_text(encoding="utf-8"))

    output = submodule("output")
    with output.OutputWriter(tmp_path, total=3, progress_interval_s=3600) as writer:
        assert progress() == {"done": 0, "total": 3}
        writer.add("a", "", None)
        writer.add("b", "", "failed")
        assert progress() == {"done": 0, "total": 3}
    assert progress() == {"done": 2, "total": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "progress.json",
        "records.jsonl",
        "status.jsonl",
    ]


def test_progress_is_rewritten_after_each_key_when_not_throttled(
    tmp_path: Path, sdk: ModuleType
) -> None:
    output = submodule("output")
    with output.OutputWriter(tmp_path, total=2, progress_interval_s=0) as writer:
        writer.add("a", "", None)
        assert json.loads((tmp_path / "progress.json").read_text()) == {"done": 1, "total": 2}


def test_discovered_keys_are_flushed_with_the_status_line(tmp_path: Path, sdk: ModuleType) -> None:
    output = submodule("output")
    with output.OutputWriter(tmp_path, total=2, discover=True) as writer:
        writer.add("a", "", None, found=["x", "y"])
        writer.add("b", "", None)
        discovered = (tmp_path / "discovered.jsonl").read_text(encoding="utf-8")
        assert discovered == '{"key":"a","found":["x","y"]}\n'
        assert (tmp_path / "status.jsonl").read_text(encoding="utf-8").count("\n") == 2


@pytest.mark.parametrize("result", ["text", [{"a": 1}, "b"], {"x": float("nan")}, {"x": {1, 2}}])
def test_records_must_be_json_objects(sdk: ModuleType, result: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        submodule("output").encode_records("k", result)
