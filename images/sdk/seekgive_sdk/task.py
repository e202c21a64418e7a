"""Reading and validating ``task.json`` (contract v1)."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import TaskError
from .version import CONTRACT_VERSION


@dataclass(frozen=True)
class Task:
    """One block of keys to scrape, as handed to the container."""

    task_id: str
    job_id: str
    keys: tuple[str, ...] | range
    settings: dict[str, Any]
    captures: bool = False
    discover: bool = False

    @property
    def total(self) -> int:
        """Number of keys in the task."""
        return len(self.keys)

    def iter_keys(self) -> Iterator[str]:
        """Yield the keys as strings, in task order (a range is never materialised)."""
        return map(str, self.keys)


def load_task(path: Path) -> Task:
    """Read and validate the task file at ``path``; raise TaskError if it is unusable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TaskError(f"cannot read task file {path}: {e}") from e
    return parse_task(raw)


def parse_task(raw: object) -> Task:
    """Validate a decoded task.json document and return it as a Task."""
    if not isinstance(raw, dict):
        raise TaskError("task.json must hold a JSON object")
    contract = raw.get("contract")
    if contract != CONTRACT_VERSION or isinstance(contract, bool):
        raise TaskError(
            f"unsupported contract {contract!r}: this SDK implements contract {CONTRACT_VERSION}"
        )
    for name in ("task_id", "job_id"):
        if not isinstance(raw.get(name), str):
            raise TaskError(f"{name!r} must be a string")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise TaskError("'settings' must be a JSON object")
    for name in ("captures", "discover"):
        if not isinstance(raw.get(name, False), bool):
            raise TaskError(f"{name!r} must be true or false")
    return Task(
        task_id=raw["task_id"],
        job_id=raw["job_id"],
        keys=_parse_keys(raw),
        settings=settings,
        captures=raw.get("captures", False),
        discover=raw.get("discover", False),
    )


def _parse_keys(raw: dict[str, Any]) -> tuple[str, ...] | range:
    if ("keys" in raw) == ("range" in raw):
        raise TaskError("task.json must have exactly one of 'keys' and 'range'")
    if "keys" in raw:
        keys = raw["keys"]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise TaskError("'keys' must be a list of strings")
        if len(set(keys)) != len(keys):
            raise TaskError("'keys' must not contain duplicates")
        return tuple(keys)
    bounds = raw["range"]
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
    ):
        raise TaskError("'range' must be a list of two integers [start, stop]")
    start, stop = bounds
    if stop < start:
        raise TaskError(f"'range' stop {stop} is below start {start}")
    return range(start, stop)
