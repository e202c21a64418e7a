"""Taking a result in as JSON lines: its header first, then one record per line.

A post is checked while it streams: the header's signature before any record
is read, each record's size and shape as it arrives, the total as it grows,
and the records' digest at the end. Records are kept as canonical JSON lines,
compressed, in chunks; nothing reaches the store until every check passed.

A process that reads back what it takes in (the Seeker counts each result moments
after its Giver posted it) can keep the results it took whole and parsed
(`KeptResults`), so reading one back costs no decompressing and no parsing.
"""

import dataclasses
import hashlib
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from channel.errors import InvalidResult, LineTooLong, RecordTooLarge, ResultTooLarge, WireError
from channel.store.rows import StoredResult
from channel.wire import canonical, results
from channel.wire.results import Result

CHUNK_BYTES = 255 * 1024
COMPRESSION_LEVEL = 6
DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_RECORD_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_DATASET_BYTES = 1024 * 1024 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024
# A result is kept parsed only while its records stay within this many canonical
# bytes: a large one is rarer, and parsed records take some five times their bytes.
KEEP_RESULT_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SizeLimits:
    """How large a result's records may be, each and all together (canonical bytes),
    and a dataset (its lines as sent and as stored; each line within `record_bytes`)."""

    result_bytes: int = DEFAULT_MAX_RESULT_BYTES
    record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    dataset_bytes: int = DEFAULT_MAX_DATASET_BYTES


def header_line(result: Result) -> bytes:
    """The first line of a posted result: everything but its records."""
    return canonical.dumps({**result.header(), "signature": result.signature})


def result_lines(result: Result) -> Iterator[bytes]:
    """A result as the lines it is posted as, without their newlines."""
    yield header_line(result)
    for record in result.records:
        yield canonical.dumps(record)


def parse_header(line: bytes) -> Result:
    """The result a header line announces, with no records yet."""
    header = canonical.loads(line)
    if not isinstance(header, dict):
        raise WireError("result header must be an object")
    if "records" in header:
        raise WireError("result header must not hold the records; send them one per line")
    return Result.from_wire({**header, "records": []})


def without_capture(line: bytes) -> bytes:
    """A record's canonical line without its debug capture, if it has one."""
    if b'"capture"' not in line:
        return line
    record = canonical.loads(line)
    record.pop("capture", None)
    return canonical.dumps(record)


def check_record(record: Any, where: str, *, sealed: bool) -> None:
    """Raise WireError unless `record` is `{key, data}`, or `{key, sealed}` for a sealed job."""
    results.check_record(record, where)
    if sealed and "sealed" not in record:
        raise WireError(f"{where} must be sealed ({{key, sealed}}): the job names a recipient")
    if not sealed and "sealed" in record:
        raise WireError(f"{where} is sealed, but the job names no recipient")


@dataclass(slots=True)
class Compressed:
    """Canonical JSON lines compressed into chunks, as a store keeps them."""

    chunks: list[bytes] = field(default_factory=list)
    count: int = 0
    size_bytes: int = 0


class Intake:
    """The records of one result as they arrive; `finish` checks them against the
    header. With `keep`, the parsed records of a result within KEEP_RESULT_BYTES
    stay in `kept` (else it is None)."""

    def __init__(self, result: Result, limits: SizeLimits, *, sealed: bool, keep: bool) -> None:
        self.result = result
        self.kept: list[dict[str, Any]] | None = [] if keep else None
        self._limits = limits
        self._sealed = sealed
        self._digest = hashlib.sha256(b"[")
        self._digested = False
        self._compressor = zlib.compressobj(COMPRESSION_LEVEL)
        # Lines are compressed a chunk's worth at a time: one call per line costs more.
        self._lines = bytearray()
        self._pending = bytearray()
        self._out = Compressed()

    @property
    def count(self) -> int:
        """How many records were taken so far."""
        return self._out.count

    @property
    def size_bytes(self) -> int:
        """The canonical bytes of the records taken so far, a newline each."""
        return self._out.size_bytes

    def add(self, lines: Iterable[bytes]) -> None:
        """Take record lines (without newlines); raise at the first one that is refused."""
        texts = [self._checked(line) for line in lines]
        if not texts:
            return
        # One digest update and one copy for the lot: one a line costs more.
        joined = b",".join(texts)
        self._digest.update(b"," + joined if self._digested else joined)
        self._digested = True
        self._lines += b"\n".join(texts)
        self._lines += b"\n"
        if len(self._lines) >= CHUNK_BYTES:
            self._compress()

    def _checked(self, line: bytes) -> bytes:
        """A record line checked and counted: its canonical text."""
        out = self._out
        if len(line) > self._limits.record_bytes:
            raise RecordTooLarge(self.result.result_id, out.count, self._limits.record_bytes)
        record = canonical.loads(line)
        if self._sealed or not results.is_plain_record(record):
            where = f"result {self.result.result_id}: record {out.count}"
            check_record(record, where, sealed=self._sealed)
        text = canonical.dumps(record)
        out.size_bytes += len(text) + 1
        if out.size_bytes > self._limits.result_bytes:
            raise ResultTooLarge(self.result.result_id, out.size_bytes, self._limits.result_bytes)
        out.count += 1
        if self.kept is not None:
            self.kept.append(record)
            if out.size_bytes > KEEP_RESULT_BYTES:
                self.kept = None
        return text

    def _compress(self) -> None:
        self._pending += self._compressor.compress(self._lines)
        self._lines.clear()
        while len(self._pending) >= CHUNK_BYTES:
            self._out.chunks.append(bytes(self._pending[:CHUNK_BYTES]))
            del self._pending[:CHUNK_BYTES]

    def finish(self) -> Compressed:
        """The compressed records, once their digest matches the signed one."""
        self._digest.update(b"]")
        if self._digest.hexdigest() != self.result.digest:
            raise InvalidResult(
                f"result {self.result.result_id}: records do not match their digest",
                result_id=self.result.result_id,
                giver_id=self.result.giver_id,
            )
        self._compress()
        self._pending += self._compressor.flush()
        for start in range(0, len(self._pending), CHUNK_BYTES):
            self._out.chunks.append(bytes(self._pending[start : start + CHUNK_BYTES]))
        self._pending.clear()
        return self._out


class KeptResults:
    """Results taken in lately, whole and parsed, each to be read back once
    (`take`); at most `max_bytes` of records in all (canonical bytes), the oldest
    dropped first. One read back is the result stored under its id: the same
    signed header."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._results: OrderedDict[str, tuple[bytes, Result, int]] = OrderedDict()
        self._bytes = 0

    def keep(self, intake: Intake, header: bytes) -> None:
        """Keep what `intake` took in, if it kept its records, under its header line."""
        records, size_bytes = intake.kept, intake.size_bytes
        if records is None:
            return
        result = dataclasses.replace(intake.result, records=records)
        self._drop(result.result_id)
        self._results[result.result_id] = (header, result, size_bytes)
        self._bytes += size_bytes
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._results)))

    def take(self, row: StoredResult) -> Result | None:
        """The result `row` stores, if it was kept; it is kept no longer."""
        kept = self._results.get(row.result_id)
        if kept is None:
            return None
        self._drop(row.result_id)
        header, result, _ = kept
        return result if header == row.header else None

    def _drop(self, result_id: str) -> None:
        kept = self._results.pop(result_id, None)
        if kept is not None:
            self._bytes -= kept[2]


class Lines:
    """Splits a byte stream into lines, refusing a line longer than `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._rest = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The complete lines `data` finishes; raises LineTooLong past the limit."""
        lines = (self._rest + data if self._rest else data).split(b"\n")
        self._rest = lines.pop()
        if len(self._rest) > self._max_bytes or (lines and max(map(len, lines)) > self._max_bytes):
            raise LineTooLong(self._max_bytes)
        return [line for line in lines if line and not line.isspace()]

    def end(self) -> list[bytes]:
        """The last line, if the stream did not end with a newline."""
        rest, self._rest = self._rest, b""
        return [rest] if rest and not rest.isspace() else []


class Inflater:
    """Turns stored compressed chunks back into lines, one chunk at a time."""

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj()
        self._rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        self._rest += self._inflater.decompress(chunk)
        *lines, self._rest = self._rest.split(b"\n")
        return lines

    def end(self) -> list[bytes]:
        rest, self._rest = self._rest + self._inflater.flush(), b""
        return [rest] if rest else []


def inflate(chunks: Iterable[bytes]) -> list[bytes]:
    """Every line stored as compressed `chunks`."""
    inflater = Inflater()
    lines = [line for chunk in chunks for line in inflater.feed(chunk)]
    return lines + inflater.end()
