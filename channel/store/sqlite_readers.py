"""Reader tokens in the SQLite results store (table `readers`, keyed by the
token's digest), mixed into `SqliteChannel`."""

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from channel.store.readers import Reader
from channel.wire import canonical

_READER_COLUMNS = "token_id, label, jobs, datasets, upload, created_at, expires_at, revoked"


class SqliteReaders:
    """The reader half of `SqliteChannel`, which owns the file these run on."""

    _run: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]

    async def reader_entries(self) -> list[tuple[str, Reader]]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT token_hash, {_READER_COLUMNS} FROM readers ORDER BY created_at"
            ).fetchall()
        )
        return [(row[0], _reader(row[1:])) for row in rows]

    async def _put_reader(self, digest: str, reader: Reader) -> None:
        await self._run(
            lambda db: db.execute(
                f"INSERT INTO readers (token_hash, {_READER_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    digest,
                    reader.token_id,
                    reader.label,
                    canonical.dumps(reader.jobs).decode(),
                    canonical.dumps(reader.datasets).decode(),
                    int(reader.upload),
                    reader.created_at,
                    reader.expires_at,
                    int(reader.revoked),
                ),
            )
        )

    async def _reader(self, digest: str) -> Reader | None:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {_READER_COLUMNS} FROM readers WHERE token_hash = ?", (digest,)
            ).fetchall()
        )
        return _reader(rows[0]) if rows else None

    async def _readers(self) -> list[Reader]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {_READER_COLUMNS} FROM readers ORDER BY created_at"
            ).fetchall()
        )
        return [_reader(row) for row in rows]

    async def _revoke_reader(self, token_id: str) -> Reader | None:
        def revoke(db: sqlite3.Connection) -> Reader | None:
            db.execute("UPDATE readers SET revoked = 1 WHERE token_id = ?", (token_id,))
            row = db.execute(
                f"SELECT {_READER_COLUMNS} FROM readers WHERE token_id = ?", (token_id,)
            ).fetchone()
            return _reader(row) if row else None

        return await self._run(revoke)


def _reader(row: tuple[Any, ...]) -> Reader:
    token_id, label, jobs, datasets, upload, created_at, expires_at, revoked = row
    return Reader(
        token_id=token_id,
        label=label,
        jobs=tuple(canonical.loads(jobs)),
        datasets=tuple(canonical.loads(datasets)),
        upload=bool(upload),
        created_at=created_at,
        expires_at=expires_at,
        revoked=bool(revoked),
    )
