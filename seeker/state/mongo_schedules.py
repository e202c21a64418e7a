"""Schedules and their runs in the MongoDB state store (collections `schedules`
and `schedule_runs`), mixed into `MongoState`."""

from collections.abc import Awaitable, Callable
from typing import Any

from bson import Binary
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import PyMongoError

from channel.wire import canonical
from seeker.errors import StateUnavailable
from seeker.state.base import Doc


def _stored_schedule(doc: Doc) -> dict[str, Any]:
    return {
        "_id": doc["schedule_id"],
        "created_at": doc["created_at"],
        "version": doc["version"],
        "doc": Binary(canonical.dumps(doc)),
    }


class MongoSchedules:
    """The schedule half of `MongoState`, which owns the collections used here."""

    _schedules: Any
    _runs: Any
    _find: Callable[..., Awaitable[list[Doc]]]
    _unavailable: Callable[[Exception], StateUnavailable]

    async def insert_schedule(self, doc: Doc) -> None:
        try:
            await self._schedules.insert_one(_stored_schedule(doc))
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def schedules(self) -> list[Doc]:
        return await self._find(
            self._schedules, {}, [("created_at", ASCENDING), ("_id", ASCENDING)]
        )

    async def schedule(self, schedule_id: str) -> Doc | None:
        docs = await self._find(self._schedules, {"_id": schedule_id}, [], 1)
        return docs[0] if docs else None

    async def replace_schedule(self, doc: Doc) -> bool:
        try:
            result = await self._schedules.replace_one(
                {"_id": doc["schedule_id"], "version": doc["version"] - 1},
                _stored_schedule(doc),
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return result.modified_count == 1

    async def delete_schedule(self, schedule_id: str) -> bool:
        try:
            await self._runs.delete_many({"schedule_id": schedule_id})
            result = await self._schedules.delete_one({"_id": schedule_id})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return result.deleted_count == 1

    async def put_run(self, doc: Doc) -> None:
        try:
            await self._runs.replace_one(
                {"_id": doc["run_id"]},
                {
                    "schedule_id": doc["schedule_id"],
                    "tick": doc["tick"],
                    "doc": Binary(canonical.dumps(doc)),
                },
                upsert=True,
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def runs(self, schedule_id: str) -> list[Doc]:
        return await self._find(self._runs, {"schedule_id": schedule_id}, [("tick", DESCENDING)])

    async def prune_runs(self, schedule_id: str, keep: int) -> int:
        """Find the latest run beyond `keep`, then delete it and every earlier one."""
        try:
            beyond = await self._runs.find_one(
                {"schedule_id": schedule_id}, sort=[("tick", DESCENDING)], skip=keep
            )
            if beyond is None:
                return 0
            result = await self._runs.delete_many(
                {"schedule_id": schedule_id, "tick": {"$lte": beyond["tick"]}}
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return result.deleted_count
