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

from channel.errors import WireError
from channel.store.datasets import check_name
from channel.wire.models import KeyBlock
from seeker.errors import InvalidJob
from seeker.work.fields import is_int

MAX_KEY_BYTES = 2048
# Keys of a range are stored as 64-bit integers.
MIN_KEY, MAX_KEY = -(2**63), 2**63 - 1
# The fields of a submission that name its keys, besides an uploaded keys file.
KEY_SOURCES = ("keys", "range", "ranges", "from_job", "from_dataset")
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


@dataclass(frozen=True, slots=True)
class KeyList:
    """Keys given inline, checked but not yet de-duplicated."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeyFile:
    """Keys uploaded beside the submission, one per line."""


@dataclass(frozen=True, slots=True)
class FromJob:
    """Keys taken from the `field` of an earlier job's records."""

    job_id: str
    field: str


@dataclass(frozen=True, slots=True)
class FromDataset:
    """Keys taken from the `field` of a Channel dataset's objects (a dotted path
    reaches into nested objects)."""

    dataset: str
    field: str


Source = Ranges | KeyList | KeyFile | FromJob | FromDataset


def describe(source: Source) -> dict[str, Any]:
    match source:
        case Ranges():
            return {"ranges": source.to_wire()}
        case KeyList():
            return {"keys": "inline"}
        case KeyFile():
            return {"keys": "file"}
        case FromJob():
            return {"from_job": {"job_id": source.job_id, "field": source.field}}
        case FromDataset():
            return {"from_dataset": {"dataset": source.dataset, "field": source.field}}


def described(source: dict[str, Any]) -> Source:
    """The source `describe` gave; a list's keys are in the job's blocks, not here."""
    if "ranges" in source:
        return Ranges.merged((start, stop) for start, stop in source["ranges"])
    if "from_job" in source:
        return FromJob(source["from_job"]["job_id"], source["from_job"]["field"])
    if "from_dataset" in source:
        return FromDataset(source["from_dataset"]["dataset"], source["from_dataset"]["field"])
    return KeyFile() if source["keys"] == "file" else KeyList(())


def parse_source(body: dict[str, Any], keys_file: bool) -> Source:
    given = [name for name in KEY_SOURCES if name in body]
    if keys_file:
        given.append("a keys file")
    if len(given) > 1:
        raise InvalidJob(f"give one key source, not {' and '.join(given)}", field=given[0])
    if not given:
        raise InvalidJob(
            "no keys: give keys (a list of strings), range [start, stop), ranges, "
            "from_job, from_dataset, or a keys file",
            field="keys",
        )
    if keys_file:
        return KeyFile()
    if "range" in body:
        return Ranges.merged([_parse_range(body["range"], "range")])
    if "ranges" in body:
        ranges = body["ranges"]
        if not isinstance(ranges, list) or not ranges:
            raise InvalidJob("ranges must be a non-empty list of [start, stop)", field="ranges")
        return Ranges.merged(_parse_range(r, f"ranges[{i}]") for i, r in enumerate(ranges))
    if "from_job" in body:
        return _parse_from_job(body["from_job"])
    if "from_dataset" in body:
        return _parse_from_dataset(body["from_dataset"])
    keys = body["keys"]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InvalidJob("keys must be a list of strings", field="keys")
    if not keys:
        raise InvalidJob("keys is empty: a job needs at least one key", field="keys")
    return KeyList(tuple(check_key(key, f"keys[{i}]") for i, key in enumerate(keys)))


def _parse_range(bounds: Any, where: str) -> tuple[int, int]:
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(map(is_int, bounds))):
        raise InvalidJob(f"{where} must be two integers [start, stop)", field="range")
    start, stop = bounds
    if start < MIN_KEY or stop > MAX_KEY:
        raise InvalidJob(f"{where} must lie within 64-bit integers", field="range")
    if start >= stop:
        raise InvalidJob(
            f"{where} [{start}, {stop}) is empty or reversed: start must be below stop",
            field="range",
        )
    return start, stop


def _parse_from_job(value: Any) -> FromJob:
    if not isinstance(value, dict) or set(value) != {"job_id", "field"}:
        raise InvalidJob(
            'from_job must be {"job_id": ..., "field": ...}: the earlier job, and the '
            "field of its records' data that holds the keys",
            field="from_job",
        )
    job_id, name = value["job_id"], value["field"]
    if not isinstance(job_id, str) or not job_id or not isinstance(name, str) or not name:
        raise InvalidJob("from_job.job_id and from_job.field must be strings", field="from_job")
    return FromJob(job_id, name)


def _parse_from_dataset(value: Any) -> FromDataset:
    if not isinstance(value, dict) or set(value) != {"dataset", "field"}:
        raise InvalidJob(
            'from_dataset must be {"dataset": ..., "field": ...}: the Channel dataset, and '
            "the field of its objects that holds the keys (a.b for a field inside a)",
            field="from_dataset",
        )
    name, path = value["dataset"], value["field"]
    if not isinstance(path, str) or not path:
        raise InvalidJob("from_dataset.field must be a field name", field="from_dataset")
    try:
        return FromDataset(check_name(name), path)
    except WireError as e:
        raise InvalidJob(f"from_dataset.dataset: {e}", field="from_dataset") from e
