"""The embedded default backend: one SQLite file, used from one worker thread."""

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from channel.base import Channel, StoredResult
from channel.errors import StoreUnavailable

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS givers (
    giver_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    result_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    giver_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_task ON results (task_id);
CREATE INDEX IF NOT EXISTS results_by_job ON results (job_id, result_id);
"""


class SqliteChannel(Channel):
    """Results in a SQLite file; every statement runs on one dedicated thread."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="channel-sqlite")
        self._db: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        db = self._db
        if db is None:
            raise StoreUnavailable("the SQLite channel is closed", url=self.url)

        def call() -> T:
            try:
                with db:
                    return fn(db)
            except sqlite3.Error as e:
                raise StoreUnavailable(f"SQLite error on {self._path}: {e}", url=self.url) from e

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _open(self) -> None:
        def connect() -> sqlite3.Connection:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            return db

        try:
            self._db = await asyncio.get_running_loop().run_in_executor(self._executor, connect)
        except (OSError, sqlite3.Error) as e:
            raise StoreUnavailable(f"cannot open {self._path}: {e}", url=self.url) from e

    async def _put_giver_key(self, giver_id: str, public_key: str) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO givers (giver_id, public_key) VALUES (?, ?) "
                "ON CONFLICT (giver_id) DO UPDATE SET public_key = excluded.public_key",
                (giver_id, public_key),
            )
        )

    async def _giver_key(self, giver_id: str) -> str | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT public_key FROM givers WHERE giver_id = ?", (giver_id,)
            ).fetchone()
        )
        return row[0] if row else None

    async def _insert_result(self, row: StoredResult) -> StoredResult:
        def insert(db: sqlite3.Connection) -> StoredResult:
            db.execute(
                "INSERT INTO results (result_id, task_id, job_id, giver_id, received_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (result_id) DO NOTHING",
                (row.result_id, row.task_id, row.job_id, row.giver_id, row.received_at, row.body),
            )
            stored = db.execute(
                "SELECT result_id, task_id, job_id, giver_id, received_at, body "
                "FROM results WHERE result_id = ?",
                (row.result_id,),
            ).fetchone()
            return StoredResult(*stored)

        return await self._run(insert)

    async def _find_by_tasks(self, task_ids: list[str]) -> list[bytes]:
        marks = ", ".join("?" * len(task_ids))
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT body FROM results WHERE task_id IN ({marks}) ORDER BY result_id", task_ids
            ).fetchall()
        )
        return [row[0] for row in rows]

    async def _find_by_job(self, job_id: str, after: str, limit: int) -> list[bytes]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT body FROM results WHERE job_id = ? AND result_id > ? "
                "ORDER BY result_id LIMIT ?",
                (job_id, after, limit),
            ).fetchall()
        )
        return [row[0] for row in rows]

    async def _close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=True)
