"""Schedules and their runs in the SQLite state store (tables `schedules` and
`schedule_runs`), mixed into `SqliteState`."""

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from channel.wire import canonical
from seeker.state.base import Doc


class SqliteSchedules:
    """The schedule half of `SqliteState`, which owns the file these run on."""

    _run: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]
    _docs: Callable[[str, tuple[object, ...]], Awaitable[list[Doc]]]

    async def insert_schedule(self, doc: Doc) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO schedules (schedule_id, created_at, version, doc) VALUES (?, ?, ?, ?)",
                (doc["schedule_id"], doc["created_at"], doc["version"], canonical.dumps(doc)),
            )
        )

    async def schedules(self) -> list[Doc]:
        return await self._docs("SELECT doc FROM schedules ORDER BY created_at, schedule_id", ())

    async def schedule(self, schedule_id: str) -> Doc | None:
        docs = await self._docs("SELECT doc FROM schedules WHERE schedule_id = ?", (schedule_id,))
        return docs[0] if docs else None

    async def replace_schedule(self, doc: Doc) -> bool:
        cursor = await self._run(
            lambda db: db.execute(
                "UPDATE schedules SET version = ?, doc = ? WHERE schedule_id = ? AND version = ?",
                (doc["version"], canonical.dumps(doc), doc["schedule_id"], doc["version"] - 1),
            )
        )
        return cursor.rowcount == 1

    async def delete_schedule(self, schedule_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM schedule_runs WHERE schedule_id = ?", (schedule_id,))
            cursor = db.execute("DELETE FROM schedules WHERE schedule_id = ?", (schedule_id,))
            return cursor.rowcount == 1

        return await self._run(delete)

    async def put_run(self, doc: Doc) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO schedule_runs (run_id, schedule_id, tick, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET tick = excluded.tick, doc = excluded.doc",
                (doc["run_id"], doc["schedule_id"], doc["tick"], canonical.dumps(doc)),
            )
        )

    async def runs(self, schedule_id: str) -> list[Doc]:
        return await self._docs(
            "SELECT doc FROM schedule_runs WHERE schedule_id = ? ORDER BY tick DESC",
            (schedule_id,),
        )

    async def prune_runs(self, schedule_id: str, keep: int) -> int:
        cursor = await self._run(
            lambda db: db.execute(
                "DELETE FROM schedule_runs WHERE schedule_id = ? AND run_id NOT IN "
                "(SELECT run_id FROM schedule_runs WHERE schedule_id = ? "
                "ORDER BY tick DESC LIMIT ?)",
                (schedule_id, schedule_id, keep),
            )
        )
        return cursor.rowcount
