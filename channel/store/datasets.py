"""Datasets: named, immutable sets of JSON objects that people upload and others read.

An upload streams: each line is parsed, checked and kept as canonical JSON,
compressed into chunks written under a staging id as they fill. The dataset's
metadata is published last, so nothing is visible under its name until every
line was taken; a failed upload removes what it staged.
"""

import asyncio
import hashlib
import logging
import re
import time
import uuid
import zlib
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from channel.errors import (
    BadDatasetLine,
    BadDatasetName,
    ChannelError,
    DatasetExists,
    DatasetLineTooLarge,
    DatasetTooLarge,
    LineTooLong,
    UnknownDataset,
    WireError,
)
from channel.store.ingest import CHUNK_BYTES, COMPRESSION_LEVEL, Inflater, SizeLimits
from channel.wire import canonical

log = logging.getLogger(__name__)

NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
NAME_RULE = "1 to 100 letters, digits, '.', '_' or '-', not starting with '.'"
# Lines are checked off the event loop in batches of about this many bytes.
FEED_BYTES = 1024 * 1024


def check_name(name: str) -> str:
    """`name` if it may name a dataset; BadDatasetName if not."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadDatasetName(str(name), NAME_RULE)
    return name


@dataclass(frozen=True, slots=True)
class Dataset:
    """A stored dataset's metadata; `sha256` is that of the lines a download returns
    (canonical JSON, each ending in a newline), `size_bytes` their length."""

    name: str
    uploaded_by: str
    created_at: float
    records: int
    size_bytes: int
    sha256: str
    # Where the store keeps its chunks; never shown.
    upload_id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uploaded_by": self.uploaded_by,
            "created_at": self.created_at,
            "records": self.records,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
        }

    @classmethod
    def from_wire(cls, data: Any) -> "Dataset":
        """Metadata as the service shows it; WireError if it is not that."""
        if not isinstance(data, dict) or not all(
            isinstance(data.get(name), kind) and not isinstance(data.get(name), bool)
            for name, kind in _WIRE_TYPES.items()
        ):
            raise WireError(f"not dataset metadata: {str(data)[:200]}")
        return cls(**{name: data[name] for name in _WIRE_TYPES})


_WIRE_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "uploaded_by": str,
    "created_at": (int, float),
    "records": int,
    "size_bytes": int,
    "sha256": str,
}


class DatasetIntake:
    """A dataset's lines as they arrive: checked, made canonical, hashed and compressed.

    Lines are counted from 1, blank ones included, so an error names the line
    the uploader sees; blank lines are skipped.
    """

    def __init__(self, name: str, limits: SizeLimits) -> None:
        self.name = name
        self.lines = 0
        self.records = 0
        self.size_bytes = 0
        self._sent_bytes = 0
        self._limits = limits
        self._digest = hashlib.sha256()
        self._compressor = zlib.compressobj(COMPRESSION_LEVEL)
        self._pending = bytearray()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def add(self, lines: Iterable[bytes]) -> list[bytes]:
        """Take lines (without newlines); the chunks they filled. Raises at the first
        line refused."""
        for line in lines:
            self._add(line)
        return self._take(whole=True)

    def finish(self) -> list[bytes]:
        """The last chunks, once every line was taken."""
        self._pending += self._compressor.flush()
        return self._take(whole=False)

    def _add(self, line: bytes) -> None:
        self.lines += 1
        self._sent_bytes += len(line) + 1
        self._check_total(self._sent_bytes)
        if len(line) > self._limits.record_bytes:
            raise DatasetLineTooLarge(self.name, self.lines, self._limits.record_bytes)
        if not line.strip():
            return
        try:
            value = canonical.loads(line)
        except WireError as e:
            raise BadDatasetLine(self.name, self.lines, f"is {e}") from e
        if not isinstance(value, dict):
            raise BadDatasetLine(self.name, self.lines, "is not a JSON object")
        text = canonical.dumps(value) + b"\n"
        self.size_bytes += len(text)
        self._check_total(self.size_bytes)
        self.records += 1
        self._digest.update(text)
        self._pending += self._compressor.compress(text)

    def _check_total(self, size_bytes: int) -> None:
        if size_bytes > self._limits.dataset_bytes:
            raise DatasetTooLarge(self.name, size_bytes, self._limits.dataset_bytes)

    def _take(self, *, whole: bool) -> list[bytes]:
        end = len(self._pending) - len(self._pending) % CHUNK_BYTES if whole else len(self._pending)
        chunks = [bytes(self._pending[at : at + CHUNK_BYTES]) for at in range(0, end, CHUNK_BYTES)]
        del self._pending[:end]
        return chunks


async def split_lines(body: AsyncIterator[bytes], max_line_bytes: int) -> AsyncIterator[bytes]:
    """Every line of a byte stream without its newline, blank ones too; LineTooLong
    as soon as a line grows past `max_line_bytes`, after the lines before it."""
    buffer = bytearray()
    async for data in body:
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", start)) != -1:
            if end - start > max_line_bytes:
                raise LineTooLong(max_line_bytes)
            yield bytes(buffer[start:end])
            start = end + 1
        del buffer[:start]
        if len(buffer) > max_line_bytes:
            raise LineTooLong(max_line_bytes)
    if buffer:
        yield bytes(buffer)


async def _compressed(
    intake: DatasetIntake, lines: AsyncIterator[bytes]
) -> AsyncGenerator[bytes, None]:
    """The chunks of `lines` as they fill, checked in batches off the event loop."""
    batch: list[bytes] = []
    batch_bytes = 0
    try:
        async for line in lines:
            batch.append(line)
            batch_bytes += len(line) + 1
            if batch_bytes >= FEED_BYTES:
                for chunk in await asyncio.to_thread(intake.add, batch):
                    yield chunk
                batch, batch_bytes = [], 0
    except LineTooLong as e:
        intake.add(batch)
        raise DatasetLineTooLarge(intake.name, intake.lines + 1, e.limit_bytes) from e
    for chunk in intake.add(batch) + intake.finish():
        yield chunk


class DatasetStore(ABC):
    """The dataset half of the Channel: public methods here, storage in the backends."""

    limits: SizeLimits

    async def put_dataset(
        self, name: str, lines: AsyncIterator[bytes], uploaded_by: str
    ) -> Dataset:
        """Store the JSON objects of `lines` (one per line, without newlines) as
        dataset `name`; nothing is stored unless every line is taken.

        Raises BadDatasetName, DatasetExists, BadDatasetLine (naming the line),
        DatasetLineTooLarge or DatasetTooLarge.
        """
        check_name(name)
        if await self._dataset(name) is not None:
            raise DatasetExists(name)
        intake = DatasetIntake(name, self.limits)
        upload_id = uuid.uuid4().hex
        try:
            async with aclosing(_compressed(intake, lines)) as chunks:
                await self._stage_dataset(upload_id, name, chunks)
            dataset = Dataset(
                name=name,
                uploaded_by=uploaded_by,
                created_at=time.time(),
                records=intake.records,
                size_bytes=intake.size_bytes,
                sha256=intake.sha256,
                upload_id=upload_id,
            )
            await self._publish_dataset(dataset)
        except BaseException:
            try:
                await self._drop_staged(upload_id)
            except ChannelError as e:
                log.warning("dataset %s: staged chunks %s not removed: %s", name, upload_id, e)
            raise
        return dataset

    async def dataset(self, name: str) -> Dataset | None:
        """A stored dataset's metadata, or None."""
        return await self._dataset(check_name(name))

    async def datasets(self) -> list[Dataset]:
        """Every stored dataset, by name."""
        return await self._datasets()

    async def dataset_lines(self, name: str) -> AsyncIterator[bytes]:
        """A dataset's objects as canonical JSON lines (without newlines), in upload
        order; UnknownDataset if there is none of that name."""
        dataset = await self.dataset(name)
        if dataset is None:
            raise UnknownDataset(name)
        inflater = Inflater()
        async for chunk in self._dataset_chunks(dataset.upload_id):
            for line in await asyncio.to_thread(inflater.feed, chunk):
                yield line
        for line in inflater.end():
            yield line

    async def delete_dataset(self, name: str) -> Dataset:
        """Remove a dataset, its name first; the removed dataset's metadata."""
        removed = await self._delete_dataset(check_name(name))
        if removed is None:
            raise UnknownDataset(name)
        return removed

    @abstractmethod
    async def _dataset(self, name: str) -> Dataset | None: ...

    @abstractmethod
    async def _datasets(self) -> list[Dataset]:
        """Every dataset's metadata, ordered by name."""

    @abstractmethod
    async def _stage_dataset(self, upload_id: str, name: str, chunks: AsyncIterator[bytes]) -> None:
        """Store `chunks` in order under `upload_id`, each as it comes; a name for
        them is published only by `_publish_dataset`."""

    @abstractmethod
    async def _publish_dataset(self, dataset: Dataset) -> None:
        """Store the metadata that makes staged chunks a dataset; DatasetExists if
        the name was taken meanwhile."""

    @abstractmethod
    def _dataset_chunks(self, upload_id: str) -> AsyncIterator[bytes]:
        """The compressed chunks stored under `upload_id`, in order."""

    @abstractmethod
    async def _delete_dataset(self, name: str) -> Dataset | None:
        """Remove a dataset's metadata, then its chunks; the metadata, or None."""

    @abstractmethod
    async def _drop_staged(self, upload_id: str) -> None:
        """Remove whatever chunks are stored under `upload_id`."""
