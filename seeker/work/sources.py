"""Where a job's keys come from, held without one object per key.

Integer ranges stay ranges: a job's block `seq` covers positions
`[seq * size, (seq + 1) * size)` of its merged ranges, cut only when leased.
Explicit keys (inline, a file of lines, or values from an earlier job's
records or a Channel dataset's objects) are checked and de-duplicated in a
scratch SQLite file in arrival order, then read back block by block; only one
block is in memory at a time.
"""

import bisect
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channel.wire.models import KeyBlock
from seeker.errors import InvalidJob

MAX_KEY_BYTES = 2048
_BATCH = 10_000


def check_key(key: str, where: str) -> str:
    """`key` if it can be a key; InvalidJob naming `where` if not."""
    if not key:
        raise InvalidJob(f"{where}: a key must not be empty", field="keys")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidJob(
            f"{where}: key {key[:40]!r}… is {len(key.encode())} bytes, over {MAX_KEY_BYTES}",
            field="keys",
        )
    return key


@dataclass(frozen=True, slots=True)
class Ranges:
    """Integer keys from merged, sorted, disjoint `[start, stop)` ranges."""

    bounds: tuple[tuple[int, int], ...]

    @classmethod
    def merged(cls, pairs: Iterable[tuple[int, int]]) -> "Ranges":
        """The union of `pairs`: overlapping ranges count their keys once."""
        out: list[list[int]] = []
        for start, stop in sorted(pairs):
            if out and start <= out[-1][1]:
                out[-1][1] = max(out[-1][1], stop)
            else:
                out.append([start, stop])
        return cls(tuple((a, b) for a, b in out))

    @property
    def total(self) -> int:
        return sum(stop - start for start, stop in self.bounds)

    def _offsets(self) -> list[int]:
        offsets, at = [], 0
        for start, stop in self.bounds:
            offsets.append(at)
            at += stop - start
        return offsets

    def block(self, seq: int, size: int) -> KeyBlock:
        """Block `seq`: a range if it lies in one range, else its keys listed."""
        lo = seq * size
        hi = min(lo + size, self.total)
        assert lo < hi, f"block {seq} is past the last key"
        offsets = self._offsets()
        index = bisect.bisect_right(offsets, lo) - 1
        start = self.bounds[index][0] + lo - offsets[index]
        if hi - offsets[index] <= self.bounds[index][1] - self.bounds[index][0]:
            return KeyBlock(start=start, stop=start + hi - lo)
        keys: list[str] = []
        position = lo
        while position < hi:
            first, last = self.bounds[index]
            begin = first + position - offsets[index]
            end = min(last, begin + hi - position)
            keys.extend(str(k) for k in range(begin, end))
            position += end - begin
            index += 1
        return KeyBlock(keys=tuple(keys))

    def to_wire(self) -> list[list[int]]:
        return [[start, stop] for start, stop in self.bounds]


class KeyCollector:
    """Checks keys and drops duplicates, keeping first-seen order; blocking, use
    it from a worker thread. `close()` deletes the scratch file."""

    def __init__(self, scratch: Path) -> None:
        self._path = scratch
        self._db = sqlite3.connect(scratch, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE keys (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)")
        self.received = 0

    def close(self) -> None:
        self._db.close()
        self._path.unlink(missing_ok=True)

    @property
    def unique(self) -> int:
        return self._db.execute("SELECT count(*) FROM keys").fetchone()[0]

    def add(self, keys: Iterable[str]) -> None:
        """Add checked keys."""
        batch: list[tuple[str]] = []
        for key in keys:
            batch.append((key,))
            if len(batch) == _BATCH:
                self._insert(batch)
                batch = []
        self._insert(batch)

    def _insert(self, batch: list[tuple[str]]) -> None:
        self.received += len(batch)
        self._db.executemany("INSERT OR IGNORE INTO keys (key) VALUES (?)", batch)

    def add_lines(self, path: Path) -> None:
        """Add a file's keys, one per line; blank lines are skipped."""
        self.add(_file_keys(path))

    def blocks(self, size: int) -> Iterator[tuple[str, ...]]:
        """The unique keys in arrival order, `size` at a time."""
        self._db.commit()
        cursor = self._db.execute("SELECT key FROM keys ORDER BY seq")
        while rows := cursor.fetchmany(size):
            yield tuple(row[0] for row in rows)


def _file_keys(path: Path) -> Iterator[str]:
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                key = line.decode()
            except UnicodeDecodeError as e:
                raise InvalidJob(f"keys file line {number} is not UTF-8: {e}", field="keys") from e
            yield check_key(key, f"keys file line {number}")


def record_keys(record: dict[str, Any], field: str) -> tuple[list[str], int]:
    """The keys a record's `data[field]` gives a following job, and how many values
    it had that cannot be keys."""
    return value_keys(record.get("data", {}).get(field))


def object_keys(value: Any, path: str) -> tuple[list[str], int]:
    """The keys an object's field at `path` gives a job (`a.b` is field b of the
    object in field a), and how many values it had that cannot be keys."""
    for name in path.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return value_keys(value)


def value_keys(value: Any) -> tuple[list[str], int]:
    """The keys a field's value gives (a string, an integer, or a list of those; none
    if it is missing), and how many values it had that cannot be keys."""
    if value is None:
        return [], 0
    keys, unusable = [], 0
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, int) and not isinstance(item, bool):
            keys.append(str(item))
        elif isinstance(item, str) and item and len(item.encode()) <= MAX_KEY_BYTES:
            keys.append(item)
        else:
            unusable += 1
    return keys, unusable
