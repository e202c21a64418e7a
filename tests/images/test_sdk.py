"""Tests of the scraper SDK (images/sdk/seekgive_sdk), run on the host Python.

Runs of a scraper write a small scraper script and a task.json to a temporary
directory and run the script in a subprocess, as a container would. The
declaration, schema and settings logic is tested in-process in test_sdk_units.py.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from support.base import REPO

SDK_DIR = REPO / "images" / "sdk"

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
