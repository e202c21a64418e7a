"""A SQLite file used from one dedicated thread, for the embedded backends."""

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from channel.files import exposed
from channel.store.schema import Versions, migrate_sqlite, record_sqlite, sqlite_version

T = TypeVar("T")
# SQLite gives its -wal and -shm files the mode of the database file.
SIDE_FILES = ("-wal", "-shm")


class SqliteFile:
    """One connection in WAL mode; every call runs in a transaction on one thread.

    On open, the file is brought to the current version of `versions` (or refused,
    untouched, if newer; see channel.store.schema). The file is created readable
    by its owner only (its folder too, if new) and never opened while others may
    read it: stores hold signing keys, credentials and results.
    `unavailable(message)` builds the caller's own error for a SQLite failure or
    an exposed file.
    """

    def __init__(
        self,
        path: Path,
        schema: str,
        versions: Versions,
        unavailable: Callable[[str], Exception],
        *,
        thread: str,
    ) -> None:
        self.path = path
        self._schema = schema
        self._versions = versions
        self._unavailable = unavailable
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread)
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            self._claim()
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                migrate_sqlite(db, self._versions, self._schema, str(self.path))
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
            except BaseException:
                db.close()
                raise
            return db

        try:
            self._db = await asyncio.get_running_loop().run_in_executor(self._executor, connect)
        except (OSError, sqlite3.Error) as e:
            raise self._unavailable(f"cannot open {self.path}: {e}") from e

    def _claim(self) -> None:
        """Create the file private, or check that the one there is."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            for path in (
                self.path,
                *(self.path.with_name(self.path.name + end) for end in SIDE_FILES),
            ):
                why = exposed(path) if path.exists() else None
                if why is not None:
                    raise self._unavailable(why) from None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` in one transaction on the SQLite thread."""
        db = self._db
        if db is None:
            raise self._unavailable(f"{self.path} is closed")

        def call() -> T:
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    value = fn(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return value
            except sqlite3.Error as e:
                raise self._unavailable(f"SQLite error on {self.path}: {e}") from e

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def ping(self) -> None:
        """Read the file's schema on the SQLite thread, outside any transaction, so a
        writer holding the file does not hold the ping up."""
        db = self._db
        if db is None:
            raise self._unavailable(f"{self.path} is closed")

        def read() -> None:
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.Error as e:
                raise self._unavailable(f"SQLite error on {self.path}: {e}") from e

        await asyncio.get_running_loop().run_in_executor(self._executor, read)

    async def empty(self, *besides: str) -> bool:
        """Whether every table but the version record and `besides` is empty."""

        def empty(db: sqlite3.Connection) -> bool:
            return not any(
                db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                for table in _tables(db, besides)
            )

        return await self.run(empty)

    async def wipe(self) -> None:
        """Delete every row of every table but the version record, in one transaction."""

        def wipe(db: sqlite3.Connection) -> None:
            for table in _tables(db, ()):
                db.execute(f"DELETE FROM {table}")

        await self.run(wipe)

    async def version(self) -> int:
        """The schema version the file records."""
        return await self.run(lambda db: sqlite_version(db, self._versions.store)[0])

    async def set_version(self, version: int) -> None:
        """Record schema `version`, for the next open to migrate from."""
        await self.run(lambda db: record_sqlite(db, self._versions.store, version))

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=True)


def _tables(db: sqlite3.Connection, besides: tuple[str, ...]) -> list[str]:
    """The file's tables but the version record and `besides`."""
    return [
        row[0]
        for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if row[0] not in ("schema_version", *besides)
    ]
