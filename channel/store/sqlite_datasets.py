"""Datasets in the SQLite results store (tables `datasets` and `dataset_chunks`),
mixed into `SqliteChannel`."""

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from channel.errors import DatasetExists
from channel.store.datasets import Dataset

_DATASET_COLUMNS = "name, uploaded_by, created_at, records, size_bytes, sha256, upload_id"


class SqliteDatasets:
    """The dataset half of `SqliteChannel`, which owns the file these run on."""

    _run: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]
    _numbered_chunks: Callable[[str, str, str], AsyncIterator[bytes]]

    async def _dataset(self, name: str) -> Dataset | None:
        return await self._run(lambda db: _dataset(db, name))

    async def _datasets(self) -> list[Dataset]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {_DATASET_COLUMNS} FROM datasets ORDER BY name"
            ).fetchall()
        )
        return [Dataset(*row) for row in rows]

    async def _stage_dataset(self, upload_id: str, name: str, chunks: AsyncIterator[bytes]) -> None:
        n = 0
        async for chunk in chunks:
            await self._run(
                _execute(
                    "INSERT INTO dataset_chunks (upload_id, n, data) VALUES (?, ?, ?)",
                    (upload_id, n, chunk),
                )
            )
            n += 1

    async def _publish_dataset(self, dataset: Dataset) -> None:
        def publish(db: sqlite3.Connection) -> bool:
            if _dataset(db, dataset.name) is not None:
                return False
            db.execute(
                f"INSERT INTO datasets ({_DATASET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    dataset.name,
                    dataset.uploaded_by,
                    dataset.created_at,
                    dataset.records,
                    dataset.size_bytes,
                    dataset.sha256,
                    dataset.upload_id,
                ),
            )
            return True

        if not await self._run(publish):
            raise DatasetExists(dataset.name)

    def _dataset_chunks(self, upload_id: str) -> AsyncIterator[bytes]:
        return self._numbered_chunks(
            "SELECT data FROM dataset_chunks WHERE upload_id = ? AND n = ?",
            upload_id,
            f"the chunks of upload {upload_id}",
        )

    async def _delete_dataset(self, name: str) -> Dataset | None:
        def delete(db: sqlite3.Connection) -> Dataset | None:
            dataset = _dataset(db, name)
            if dataset is not None:
                db.execute("DELETE FROM datasets WHERE name = ?", (name,))
                db.execute("DELETE FROM dataset_chunks WHERE upload_id = ?", (dataset.upload_id,))
            return dataset

        return await self._run(delete)

    async def _drop_staged(self, upload_id: str) -> None:
        await self._run(
            lambda db: db.execute("DELETE FROM dataset_chunks WHERE upload_id = ?", (upload_id,))
        )


def _dataset(db: sqlite3.Connection, name: str) -> Dataset | None:
    row = db.execute(f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE name = ?", (name,)).fetchone()
    return Dataset(*row) if row else None


def _execute(query: str, args: tuple[Any, ...]) -> Callable[[sqlite3.Connection], object]:
    """A call that runs `query` with `args`, bound now (not when it runs)."""
    return lambda db: db.execute(query, args)
