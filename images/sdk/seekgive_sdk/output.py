"""Writing the output files of contract v1: records.jsonl, status.jsonl, progress.json."""

import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

RECORDS_FILE = "records.jsonl"
STATUS_FILE = "status.jsonl"
PROGRESS_FILE = "progress.json"


def encode_records(key: str, result: object) -> str:
    """Turn what ``scrape`` returned for ``key`` into records.jsonl lines.

    ``result`` is one record (a dict), several (a list of dicts) or none (None).
    Raises TypeError or ValueError if it is anything else or not strict JSON.
    """
    if result is None:
        records: list[Any] = []
    elif isinstance(result, dict):
        records = [result]
    elif isinstance(result, list) and all(isinstance(r, dict) for r in result):
        records = result
    else:
        raise TypeError(
            f"scrape returned {type(result).__name__}; expected a dict, a list of dicts or None"
        )
    return "".join(_json_line({"key": key, "data": record}) for record in records)


class OutputWriter:
    """Appends results to the output directory as keys are done.

    Each key's records are flushed before its status line, so a status line
    means the key's records are complete even if the container is killed right
    after. progress.json is replaced atomically, at most once per
    ``progress_interval_s`` while running, and once more on close.
    """

    def __init__(self, directory: Path, total: int, progress_interval_s: float = 0.25) -> None:
        self._directory = directory
        self._total = total
        self._done = 0
        self._progress_interval_s = progress_interval_s
        self._last_progress_s = 0.0
        self._records = self._open(RECORDS_FILE)
        self._status = self._open(STATUS_FILE)
        self._write_progress()

    def __enter__(self) -> "OutputWriter":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add(self, key: str, records: str, reason: str | None) -> None:
        """Record the outcome of ``key``: its encoded records and, if it failed, why."""
        if records:
            self._records.write(records)
            self._records.flush()
        self._status.write(_json_line({"key": key, "ok": reason is None, "reason": reason}))
        self._status.flush()
        self._done += 1
        if time.monotonic() - self._last_progress_s >= self._progress_interval_s:
            self._write_progress()

    def close(self) -> None:
        """Write the final progress.json and close the files."""
        try:
            self._write_progress()
        finally:
            self._records.close()
            self._status.close()

    def _open(self, name: str) -> TextIO:
        return open(self._directory / name, "w", encoding="utf-8", newline="\n")

    def _write_progress(self) -> None:
        tmp = self._directory / f".{PROGRESS_FILE}.tmp"
        tmp.write_text(json.dumps({"done": self._done, "total": self._total}), encoding="utf-8")
        os.replace(tmp, self._directory / PROGRESS_FILE)
        self._last_progress_s = time.monotonic()


def _json_line(obj: object) -> str:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n"
