"""The embedded default backend: one SQLite file, used from one worker thread."""

import sqlite3
from pathlib import Path

from channel.base import Channel, StoredResult
from channel.errors import StoreUnavailable
from channel.sqlitefile import SqliteFile

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
        self._file = SqliteFile(
            path,
            _SCHEMA,
            lambda message: StoreUnavailable(message, url=self.url),
            thread="channel-sqlite",
        )
        self._run = self._file.run

    async def _open(self) -> None:
        await self._file.open()

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
        await self._file.close()
