"""Writing the output files of contract v1.

records.jsonl, discovered.jsonl (only when the task takes discovered keys),
status.jsonl and progress.json.
"""

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from .context import Capture

RECORDS_FILE = "records.jsonl"
DISCOVERED_FILE = "discovered.jsonl"
STATUS_FILE = "status.jsonl"
PROGRESS_FILE = "progress.json"


def encode_records(key: str, result: object, capture: Capture | None = None) -> str:
    """Turn what ``scrape`` returned for ``key`` into records.jsonl lines.

    ``result`` is one record (a dict), several (a list of dicts) or none (None).
    ``capture``, if any, goes on the first record. Raises TypeError or
    ValueError if ``result`` is anything else or not strict JSON.
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
    lines = [{"key": key, "data": record} for record in records]
    if lines and capture is not None:
        lines[0]["capture"] = {"media_type": capture.media_type, "text": capture.text}
    return "".join(_json_line(line) for line in lines)


class OutputWriter:
    """Appends results to the output directory as keys are done.

    Each key's records and discovered keys are flushed before its status line,
    so a status line means they are complete even if the container is killed
    right after. discovered.jsonl exists only if ``discover`` is true.
    progress.json is replaced atomically, at most once per
    ``progress_interval_s`` while running, and once more on close.
    """

    def __init__(
        self,
        directory: Path,
        total: int,
        *,
        discover: bool = False,
        progress_interval_s: float = 0.25,
    ) -> None:
        self._directory = directory
        self._total = total
        self._done = 0
        self._progress_interval_s = progress_interval_s
        self._last_progress_s = 0.0
        self._records = self._open(RECORDS_FILE)
        self._discovered = self._open(DISCOVERED_FILE) if discover else None
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

    def add(self, key: str, records: str, reason: str | None, found: Sequence[str] = ()) -> None:
        """Record the outcome of ``key``: its encoded records, keys it found, and why it failed."""
        if records:
            self._records.write(records)
            self._records.flush()
        if found and self._discovered is not None:
            self._discovered.write(_json_line({"key": key, "found": list(found)}))
            self._discovered.flush()
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
            if self._discovered is not None:
                self._discovered.close()

    def _open(self, name: str) -> TextIO:
        return open(self._directory / name, "w", encoding="utf-8", newline="\n")

    def _write_progress(self) -> None:
        tmp = self._directory / f".{PROGRESS_FILE}.tmp"
        tmp.write_text(json.dumps({"done": self._done, "total": self._total}), encoding="utf-8")
        os.replace(tmp, self._directory / PROGRESS_FILE)
        self._last_progress_s = time.monotonic()


def _json_line(obj: object) -> str:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n"
