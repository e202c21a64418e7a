"""The durable outbox: each result stays on disk until the Channel acknowledges it.

A result is written (temp file, fsync, rename, fsync of the directory) before
it is posted, and removed only once the Channel has acknowledged it; the
Channel is idempotent by result id, so posting again after a crash is
harmless. A result the Channel refuses for good moves to `rejected/`. Each
post is paced by the volunteer's upload rate and counted against their traffic
caps (giver.egress.traffic); a reached cap does not hold results back.
"""

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from channel.errors import ChannelError, ResultRejected
from channel.lifecycle import AsyncLifecycle
from channel.service.client import ChannelClient
from channel.wire import canonical
from channel.wire.results import Result
from giver.egress.traffic import Traffic
from giver.errors import OutboxError
from giver.link.retry import Retry

log = logging.getLogger(__name__)

SUFFIX = ".json"
TEMP_SUFFIX = ".tmp"
REJECTED_DIR = "rejected"


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Results waiting for the Channel: how many, their bytes on disk, when the
    oldest was written (None if there are none), and why the last post failed
    (empty once one succeeds)."""

    count: int
    bytes: int
    oldest_at: float | None
    last_error: str


class Outbox(AsyncLifecycle):
    """Results waiting in `directory` for the Channel, posted one after another."""

    def __init__(
        self,
        directory: Path,
        client: ChannelClient,
        *,
        retry_max_s: float,
        on_delivered: Callable[[Result], None],
        traffic: Traffic,
    ) -> None:
        self.directory = directory
        self.rejected_dir = directory / REJECTED_DIR
        self._client = client
        self._retry = Retry(log, retry_max_s)
        self._on_delivered = on_delivered
        self._traffic = traffic
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._stores: set[asyncio.Future[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._last_error = ""

    async def _start(self) -> None:
        """Queue the results a previous run left behind and start posting."""
        if self._worker is not None:
            return
        left = await asyncio.to_thread(self._prepare)
        if left:
            log.info("outbox: %d result(s) from a previous run to deliver", len(left))
        for result_id in left:
            self._enqueue(result_id)
        self._worker = asyncio.create_task(self._deliver_all(), name="giver-outbox")

    async def stop(self) -> None:
        """Let writes in progress finish, then stop posting; safe to call twice."""
        while self._stores:
            await asyncio.gather(*self._stores, return_exceptions=True)
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def put(self, result: Result) -> None:
        """Keep `result` durably, then queue it for posting.

        Once begun, the write and the queueing finish even if the caller is cancelled.
        """
        store = asyncio.ensure_future(self._store(result))
        self._stores.add(store)
        store.add_done_callback(self._stores.discard)
        await asyncio.shield(store)

    async def pending(self) -> list[str]:
        """Ids of the results waiting for the Channel, oldest first."""
        return await asyncio.to_thread(self._list)

    async def stats(self) -> OutboxStats:
        """How many results wait for the Channel, their bytes, and the last delivery error."""
        return await asyncio.to_thread(self._stats)

    async def load(self, result_id: str) -> Result:
        """The stored result `result_id`."""
        path = self._path(result_id)
        try:
            data = await asyncio.to_thread(path.read_bytes)
            return Result.from_wire(canonical.loads(data))
        except (OSError, ChannelError) as e:
            raise OutboxError(
                f"cannot read result {result_id} from {path}: {e}", result_id=result_id
            ) from e

    async def remove(self, result_id: str) -> None:
        """Forget an acknowledged result."""
        await asyncio.to_thread(self._remove, result_id)

    async def reject(self, result_id: str) -> None:
        """Move a result the Channel refused for good to `rejected/`, for a human to see."""
        await asyncio.to_thread(self._reject, result_id)

    async def _store(self, result: Result) -> None:
        await asyncio.to_thread(self._write, result)
        self._enqueue(result.result_id)

    def _enqueue(self, result_id: str) -> None:
        if result_id not in self._queued:
            self._queued.add(result_id)
            self._queue.put_nowait(result_id)

    async def _deliver_all(self) -> None:
        while True:
            result_id = await self._queue.get()
            try:
                await self._deliver(result_id)
            except OutboxError as e:
                log.error("outbox: %s", e)
            except Exception:
                log.exception("outbox: delivering result %s failed", result_id)
            finally:
                self._queued.discard(result_id)

    async def _deliver(self, result_id: str) -> None:
        try:
            result = await self.load(result_id)
        except OutboxError as e:
            log.error("outbox: %s; moving it to %s", e, self.rejected_dir)
            await self.reject(result_id)
            return
        size = await asyncio.to_thread(lambda: self._path(result_id).stat().st_size)
        while True:
            # Every attempt counts: the volunteer's connection carried it.
            await self._traffic.pace("up", size)
            try:
                await self._client.post_result(result)
            except ResultRejected as e:
                await self.reject(result_id)
                log.error(
                    "outbox: the Channel rejected result %s of task %s for good: %s; moved to %s",
                    result_id,
                    result.task_id,
                    e,
                    self.rejected_dir,
                )
                return
            except ChannelError as e:
                self._last_error = str(e)
                await self._retry.after_failure("outbox: result %s not delivered: %s", result_id, e)
                continue
            self._last_error = ""
            if self._retry.succeeded():
                log.info("outbox: the Channel at %s accepts results again", self._client.url)
            await self.remove(result_id)
            log.debug("outbox: result %s of task %s delivered", result_id, result.task_id)
            self._on_delivered(result)
            return

    def _path(self, result_id: str) -> Path:
        return self.directory / f"{result_id}{SUFFIX}"

    def _prepare(self) -> list[str]:
        """Create the directories, drop half-written files, list what is left."""
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        for temp in self.directory.glob(f".*{TEMP_SUFFIX}"):
            temp.unlink()
        return self._list()

    def _list(self) -> list[str]:
        try:
            paths = [p for p in self.directory.glob(f"*{SUFFIX}") if p.is_file()]
        except OSError as e:
            raise OutboxError(f"cannot list the outbox {self.directory}: {e}") from e
        return [p.name.removesuffix(SUFFIX) for p in sorted(paths, key=_mtime)]

    def _stats(self) -> OutboxStats:
        count, size, oldest_at = 0, 0, None
        for path in self.directory.glob(f"*{SUFFIX}"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # delivered meanwhile
            count, size = count + 1, size + stat.st_size
            oldest_at = stat.st_mtime if oldest_at is None else min(oldest_at, stat.st_mtime)
        return OutboxStats(count, size, oldest_at, self._last_error)

    def _write(self, result: Result) -> None:
        path = self._path(result.result_id)
        temp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(temp, "wb") as f:
                f.write(canonical.dumps(result.to_wire()))
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
            _fsync_dir(self.directory)
        except OSError as e:
            raise OutboxError(
                f"cannot keep result {result.result_id} in {self.directory}: {e}",
                result_id=result.result_id,
            ) from e

    def _remove(self, result_id: str) -> None:
        try:
            self._path(result_id).unlink(missing_ok=True)
            _fsync_dir(self.directory)
        except OSError as e:
            raise OutboxError(
                f"cannot remove result {result_id} from {self.directory}: {e}", result_id=result_id
            ) from e

    def _reject(self, result_id: str) -> None:
        try:
            self.rejected_dir.mkdir(parents=True, exist_ok=True)
            os.replace(self._path(result_id), self.rejected_dir / f"{result_id}{SUFFIX}")
            _fsync_dir(self.rejected_dir)
            _fsync_dir(self.directory)
        except OSError as e:
            raise OutboxError(
                f"cannot move result {result_id} to {self.rejected_dir}: {e}", result_id=result_id
            ) from e


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
