"""The backup file: gzip'd JSON lines, private to its owner, written whole or not
at all.

The first line is the header (the format and its version, the seekgive release
and the schema of each store that wrote it, whether result payloads are in);
then one line per stored thing, `{"kind": …, "doc": …}`; last an end line with
the number of lines before it and the SHA-256 of them, so a restore checks the
whole file before it writes anything and refuses one cut short or changed.
"""

import asyncio
import gzip
import hashlib
import itertools
import os
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from channel.errors import WireError
from channel.wire import canonical
from seeker.errors import BadBackup

FORMAT = "seekgive-backup"
FORMAT_VERSION = 1
# Lines read or written off the event loop at a time.
BATCH = 500


class ArchiveWriter:
    """Lines added go to `path`.partial, which becomes `path` once `finish()` has
    written the end line; `abandon()` removes it."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._digest = hashlib.sha256()
        self._lines = 0
        self.kinds: Counter[str] = Counter()
        self._pending: list[bytes] = []
        self._file: gzip.GzipFile | None = None
        self._header = {"format": FORMAT, "version": FORMAT_VERSION, **header}

    async def open(self) -> None:
        """Create the file, readable by its owner only; BadBackup if `path` exists."""

        def create() -> gzip.GzipFile:
            if self.path.exists():
                raise BadBackup(
                    "exists already; remove it or name another file", path=str(self.path)
                )
            self._partial.unlink(missing_ok=True)
            os.close(os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return gzip.GzipFile(self._partial, "wb")

        try:
            self._file = await asyncio.to_thread(create)
        except OSError as e:
            raise BadBackup(f"cannot write it: {e.strerror}", path=str(self.path)) from e
        await self.add_line(self._header)

    async def add(self, kind: str, doc: Any) -> None:
        self.kinds[kind] += 1
        await self.add_line({"kind": kind, "doc": doc})

    async def add_line(self, value: Any) -> None:
        line = canonical.dumps(value) + b"\n"
        self._digest.update(line)
        self._lines += 1
        self._pending.append(line)
        if len(self._pending) >= BATCH:
            await self._flush()

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if self._file is not None and pending:
            await asyncio.to_thread(self._file.writelines, pending)

    async def finish(self) -> int:
        """Write the end line, close the file and put it in place; its size in bytes."""
        end = {"end": True, "lines": self._lines, "sha256": self._digest.hexdigest()}
        self._pending.append(canonical.dumps(end) + b"\n")
        await self._flush()
        file, self._file = self._file, None
        assert file is not None

        def close() -> int:
            file.close()
            os.replace(self._partial, self.path)
            return self.path.stat().st_size

        return await asyncio.to_thread(close)

    async def abandon(self) -> None:
        """Close and remove the unfinished file."""
        file, self._file = self._file, None

        def remove() -> None:
            if file is not None:
                file.close()
            self._partial.unlink(missing_ok=True)

        await asyncio.to_thread(remove)


async def lines(path: Path) -> AsyncIterator[list[Any]]:
    """The lines of a backup file between its header and its end line, decoded, a
    batch at a time (of a file `checked_header` passed)."""
    file = await asyncio.to_thread(gzip.open, path, "rb")
    try:
        first = True
        while batch := await asyncio.to_thread(lambda: list(itertools.islice(file, BATCH))):
            values = [canonical.loads(line) for line in batch[first:]]
            first = False
            yield [value for value in values if not value.get("end")]
    finally:
        await asyncio.to_thread(file.close)


async def checked_header(path: Path) -> dict[str, Any]:
    """The header of a whole, unchanged backup file; BadBackup otherwise."""

    def check() -> dict[str, Any]:
        digest, count, header, end = hashlib.sha256(), 0, None, None
        with gzip.open(path, "rb") as file:
            for line in file:
                if end is not None:
                    raise BadBackup("holds lines after its end line", path=str(path))
                value = canonical.loads(line)
                if header is None:
                    header = value
                elif isinstance(value, dict) and value.get("end"):
                    end = value
                    continue
                digest.update(line)
                count += 1
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise BadBackup("is not a seekgive backup", path=str(path))
        if end is None:
            raise BadBackup("is cut short (no end line): take the backup again", path=str(path))
        if end.get("lines") != count or end.get("sha256") != digest.hexdigest():
            raise BadBackup(
                "was changed or damaged: its lines do not match its end line", path=str(path)
            )
        return header

    try:
        return await asyncio.to_thread(check)
    except FileNotFoundError as e:
        raise BadBackup("no such file", path=str(path)) from e
    except OSError as e:
        raise BadBackup(f"cannot read it: {e.strerror or e}", path=str(path)) from e
    except (EOFError, zlib.error, WireError, ValueError) as e:
        raise BadBackup(f"is not a gzip'd seekgive backup ({e})", path=str(path)) from e


# What each kind of line holds, in words (one, many); a kind not listed reads as
# its name, with an s for many.
NOUNS = {
    "job_keys": ("claimed key list", "claimed key lists"),
    "seeker_key": ("Seeker signing key", "Seeker signing keys"),
    "operators": ("set of operator credentials", "sets of operator credentials"),
    "giver": ("Giver", "Givers"),
    "run": ("schedule run", "schedule runs"),
    "giver_key": ("Giver key", "Giver keys"),
    "reader": ("reader token", "reader tokens"),
    "job_policy": ("job policy", "job policies"),
}


def summary(kinds: Counter[str]) -> str:
    """How many of each kind of thing, for people: "1 job, 3 blocks, …"."""
    return ", ".join(f"{count} {_noun(kind, count)}" for kind, count in kinds.items())


def _noun(kind: str, count: int) -> str:
    one, many = NOUNS.get(kind, (kind, f"{kind}s"))
    return one if count == 1 else many
