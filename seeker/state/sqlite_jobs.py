"""Job documents in the SQLite state store (table `jobs`), mixed into
`SqliteState`. Each row keeps beside the document what the queries need: the
job's creation time (for pages of jobs), its status (for counts) and its finish
time (for the jobs a leader holds in memory)."""

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from channel.wire import canonical
from seeker.state.base import Doc


class SqliteJobs:
    """The job half of `SqliteState`, which owns the file these run on."""

    _run: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]
    _docs: Callable[[str, tuple[object, ...]], Awaitable[list[Doc]]]

    async def put_job(self, doc: Doc) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO jobs (job_id, created_at, status, finished_at, doc) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET "
                "status = excluded.status, finished_at = excluded.finished_at, doc = excluded.doc",
                (
                    doc["job_id"],
                    doc["created_at"],
                    doc["status"],
                    doc["finished_at"],
                    canonical.dumps(doc),
                ),
            )
        )

    async def jobs(self) -> list[Doc]:
        return await self._docs("SELECT doc FROM jobs ORDER BY created_at, job_id", ())

    async def job(self, job_id: str) -> Doc | None:
        docs = await self._docs("SELECT doc FROM jobs WHERE job_id = ?", (job_id,))
        return docs[0] if docs else None

    async def held_jobs(self, finished_since: float) -> list[Doc]:
        return await self._docs(
            "SELECT doc FROM jobs WHERE finished_at IS NULL OR finished_at >= ? "
            "ORDER BY created_at, job_id",
            (finished_since,),
        )

    async def jobs_page(self, before: tuple[float, str] | None, limit: int) -> list[Doc]:
        if before is None:
            return await self._docs(
                "SELECT doc FROM jobs ORDER BY created_at DESC, job_id DESC LIMIT ?", (limit,)
            )
        return await self._docs(
            "SELECT doc FROM jobs WHERE (created_at, job_id) < (?, ?) "
            "ORDER BY created_at DESC, job_id DESC LIMIT ?",
            (*before, limit),
        )

    async def count_jobs(self, status: str) -> int:
        row = await self._run(
            lambda db: db.execute(
                "SELECT count(*) FROM jobs WHERE status = ?", (status,)
            ).fetchone()
        )
        return int(row[0])

    async def delete_job(self, job_id: str) -> None:
        def delete(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM blocks WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM job_keys WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

        await self._run(delete)
