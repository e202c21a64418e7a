"""The embedded default backend: one SQLite file, used from one worker thread
(its datasets in `sqlite_datasets`, its reader tokens in `sqlite_readers`).

Records of a large result go in a chunk table beside the results; a result, its
chunks and its number are written in one transaction.
"""

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from channel.errors import StoreUnavailable
from channel.store.base import Channel
from channel.store.migrations import CHANNEL
from channel.store.rows import JobPolicy, StoredResult
from channel.store.sqlite_datasets import SqliteDatasets
from channel.store.sqlite_readers import SqliteReaders
from channel.store.sqlitefile import SqliteFile
from channel.store.whole import SqliteWhole

SWEEP_BATCH = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS givers (
    giver_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS readers (
    token_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    jobs TEXT NOT NULL,
    datasets TEXT NOT NULL,
    upload INTEGER NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    revoked INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    retention_s REAL,
    sealed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    result_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    task_id TEXT NOT NULL,
    giver_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    expires_at REAL,
    header BLOB NOT NULL,
    records INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    inline BLOB,
    UNIQUE (job_id, seq)
);
CREATE INDEX IF NOT EXISTS results_by_task ON results (task_id);
CREATE INDEX IF NOT EXISTS results_by_expiry ON results (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS result_chunks (
    result_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (result_id, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY,
    uploaded_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    records INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    upload_id TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS dataset_chunks (
    upload_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (upload_id, n)
) WITHOUT ROWID;
"""

_COLUMNS = (
    "result_id, task_id, job_id, giver_id, received_at, expires_at, header, records, "
    "size_bytes, inline, seq"
)


class SqliteChannel(SqliteWhole, SqliteDatasets, SqliteReaders, Channel):
    """Results in a SQLite file; every statement runs on one dedicated thread."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.url = f"sqlite:///{path}"
        self._file = SqliteFile(
            path,
            _SCHEMA,
            CHANNEL,
            lambda message: StoreUnavailable(message, url=self.url),
            thread="channel-sqlite",
        )
        self._run = self._file.run

    async def _open(self) -> None:
        await self._file.open()

        def columns(db: sqlite3.Connection) -> set[str]:
            return {row[1] for row in db.execute("PRAGMA table_info(results)")}

        if "header" not in await self._run(columns):
            raise StoreUnavailable(
                f"{self._file.path} holds results in an older layout; move it aside "
                "and start with a new file",
                url=self.url,
            )

    async def giver_keys(self) -> list[tuple[str, str]]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT giver_id, public_key FROM givers ORDER BY giver_id"
            ).fetchall()
        )
        return [(giver_id, key) for giver_id, key in rows]

    async def job_policies(self) -> list[JobPolicy]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT job_id, retention_s, sealed FROM jobs ORDER BY job_id"
            ).fetchall()
        )
        return [JobPolicy(job_id, retention, bool(sealed)) for job_id, retention, sealed in rows]

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

    async def _put_job(self, policy: JobPolicy) -> JobPolicy:
        def put(db: sqlite3.Connection) -> JobPolicy:
            db.execute(
                "INSERT INTO jobs (job_id, retention_s, sealed) VALUES (?, ?, ?) "
                "ON CONFLICT (job_id) DO NOTHING",
                (policy.job_id, policy.retention_s, int(policy.sealed)),
            )
            return _job(db, policy.job_id) or policy

        return await self._run(put)

    async def _job(self, job_id: str) -> JobPolicy | None:
        return await self._run(lambda db: _job(db, job_id))

    async def _result(self, result_id: str) -> StoredResult | None:
        return await self._run(lambda db: _result(db, result_id))

    async def _insert_results(
        self, batch: list[tuple[StoredResult, list[bytes]]]
    ) -> list[StoredResult]:
        def insert(db: sqlite3.Connection) -> list[StoredResult]:
            stored: list[StoredResult] = []
            for row, chunks in batch:
                existing = _result(db, row.result_id)
                if existing is not None:
                    stored.append(existing)
                    continue
                (last,) = db.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM results WHERE job_id = ?", (row.job_id,)
                ).fetchone()
                db.execute(
                    f"INSERT INTO results ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.result_id,
                        row.task_id,
                        row.job_id,
                        row.giver_id,
                        row.received_at,
                        row.expires_at,
                        row.header,
                        row.records,
                        row.size_bytes,
                        row.inline,
                        last + 1,
                    ),
                )
                db.executemany(
                    "INSERT INTO result_chunks (result_id, n, data) VALUES (?, ?, ?)",
                    [(row.result_id, n, data) for n, data in enumerate(chunks)],
                )
                stored.append(_result(db, row.result_id) or row)
            return stored

        return await self._run(insert)

    async def _find_by_tasks(self, task_ids: list[str]) -> list[StoredResult]:
        marks = ", ".join("?" * len(task_ids))
        return await self._rows(
            f"SELECT {_COLUMNS} FROM results WHERE task_id IN ({marks}) ORDER BY result_id",
            task_ids,
        )

    async def _page(self, job_id: str, after: int, limit: int) -> list[StoredResult]:
        return await self._rows(
            f"SELECT {_COLUMNS} FROM results WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, after, limit),
        )

    async def _rows(self, query: str, args: Sequence[Any]) -> list[StoredResult]:
        rows = await self._run(lambda db: db.execute(query, args).fetchall())
        return [StoredResult(*row) for row in rows]

    def _chunks(self, result_id: str) -> AsyncIterator[bytes]:
        return self._numbered_chunks(
            "SELECT data FROM result_chunks WHERE result_id = ? AND n = ?",
            result_id,
            f"the records of result {result_id}",
        )

    async def _numbered_chunks(self, query: str, key: str, what: str) -> AsyncIterator[bytes]:
        """The `data` of the rows `query` finds for (`key`, 0), (`key`, 1), … in turn."""
        n = 0
        while True:
            row = await self._run(_fetch_one(query, (key, n)))
            if row is None and n == 0:
                raise StoreUnavailable(f"{what} are missing", url=self.url)
            if row is None:
                return
            yield row[0]
            n += 1

    async def _sweep(self, now: float) -> int:
        return await self._remove_results("expires_at <= ?", now)

    async def _delete_job(self, job_id: str) -> int:
        removed = await self._remove_results("job_id = ?", job_id)
        await self._run(lambda db: db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,)))
        return removed

    async def _remove_results(self, where: str, value: object) -> int:
        """Remove the results `where` (with `value`) selects, their chunks first, a
        batch at a time; how many were removed."""

        def remove(db: sqlite3.Connection) -> int:
            ids = [
                (row[0],)
                for row in db.execute(
                    f"SELECT result_id FROM results WHERE {where} LIMIT ?", (value, SWEEP_BATCH)
                )
            ]
            db.executemany("DELETE FROM result_chunks WHERE result_id = ?", ids)
            db.executemany("DELETE FROM results WHERE result_id = ?", ids)
            return len(ids)

        removed = 0
        while count := await self._run(remove):
            removed += count
        return removed

    async def _ping(self) -> None:
        await self._file.ping()

    async def _close(self) -> None:
        await self._file.close()


def _job(db: sqlite3.Connection, job_id: str) -> JobPolicy | None:
    row = db.execute(
        "SELECT job_id, retention_s, sealed FROM jobs WHERE job_id = ?", (job_id,)
    ).fetchone()
    return JobPolicy(row[0], row[1], bool(row[2])) if row else None


def _result(db: sqlite3.Connection, result_id: str) -> StoredResult | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM results WHERE result_id = ?", (result_id,)).fetchone()
    return StoredResult(*row) if row else None


def _fetch_one(query: str, args: tuple[Any, ...]) -> Callable[[sqlite3.Connection], Any]:
    """A call that reads one row of `query` with `args`, bound now (not when it runs)."""
    return lambda db: db.execute(query, args).fetchone()
