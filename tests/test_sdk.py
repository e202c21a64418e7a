"""Unit tests of the scraper SDK (images/sdk/seekgive_sdk), run on the host Python.

Each test writes a small scraper script and a task.json to a temporary
directory and runs the scraper in a subprocess, as a container would.
"""

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SDK_DIR = Path(__file__).resolve().parent.parent / "images" / "sdk"

SCRAPER = """
import time
from dataclasses import dataclass, field

import seekgive_sdk


@dataclass
class Settings:
    prefix: str = field(default="v", metadata={"help": "prefix of each value"})
    repeat: int = 1
    scale: float = 1.0
    loud: bool = False


def scrape(key, ctx):
    settings = ctx.settings
    if key == "bad":
        raise seekgive_sdk.KeyFailed("bad key")
    if key == "boom":
        raise ValueError("boom")
    if key == "none":
        return None
    if key == "hang":
        time.sleep(60)
    value = settings.prefix + key * settings.repeat
    record = {"value": value.upper() if settings.loud else value, "scale": settings.scale}
    if key == "many":
        return [record, {"second": True}]
    return record


seekgive_sdk.run(scrape, Settings, name="test")
"""


def make_task(**fields: Any) -> dict[str, Any]:
    """A valid contract-1 task with ``fields`` added or replaced."""
    task: dict[str, Any] = {"contract": 1, "task_id": "t1", "job_id": "j1", "settings": {}}
    task.update(fields)
    return task


class Run:
    """Paths and environment for running the test scraper on one task."""

    def __init__(self, tmp_path: Path, task: dict[str, Any]) -> None:
        self.script = tmp_path / "scraper.py"
        self.script.write_text(SCRAPER, encoding="utf-8")
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

    def run(self) -> subprocess.CompletedProcess[str]:
        """Run the scraper to completion."""
        return subprocess.run(
            [sys.executable, str(self.script)],
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
    assert sorted(p.name for p in run.output.iterdir()) == [
        "progress.json",
        "records.jsonl",
        "status.jsonl",
    ]


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
    settings = {"prefix": "x-", "repeat": 2, "scale": 3, "loud": True}
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
        ({"scale": "1.5"}, "scale"),
        ({"loud": 1}, "loud"),
        ({"prefix": 7}, "prefix"),
    ],
)
def test_bad_settings_fail_the_task(tmp_path: Path, settings: dict[str, Any], field: str) -> None:
    run = Run(tmp_path, make_task(keys=["a"], settings=settings))
    result = run.run()
    assert result.returncode == 2
    assert f"'{field}'" in result.stderr
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


def test_help_lists_settings(tmp_path: Path) -> None:
    run = Run(tmp_path, make_task(keys=["a"]))
    result = subprocess.run(
        [sys.executable, str(run.script), "--help"],
        env=run.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "prefix (str, default 'v'): prefix of each value" in result.stdout
    assert "loud (bool, default False)" in result.stdout


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


@pytest.fixture
def output_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """seekgive_sdk.output imported in-process, without writing bytecode into images/."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(SDK_DIR))
    return importlib.import_module("seekgive_sdk.output")


def test_progress_is_throttled_and_final(tmp_path: Path, output_module: ModuleType) -> None:
    def progress() -> dict[str, int]:
        return json.loads((tmp_path / "progress.json").read_text(encoding="utf-8"))

    with output_module.OutputWriter(tmp_path, total=3, progress_interval_s=3600) as writer:
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
    tmp_path: Path, output_module: ModuleType
) -> None:
    with output_module.OutputWriter(tmp_path, total=2, progress_interval_s=0) as writer:
        writer.add("a", "", None)
        assert json.loads((tmp_path / "progress.json").read_text()) == {"done": 1, "total": 2}


@pytest.mark.parametrize("result", ["text", [{"a": 1}, "b"], {"x": float("nan")}, {"x": {1, 2}}])
def test_records_must_be_json_objects(output_module: ModuleType, result: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        output_module.encode_records("k", result)
