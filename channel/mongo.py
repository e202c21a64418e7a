"""The MongoDB backend, through PyMongo's async client.

Only what MongoDB and FerretDB 1.x both support is used: single-document
writes, finds with filter, sort and limit, and plain indexes.
"""

from bson import Binary
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.errors import DocumentTooLarge, DuplicateKeyError, PyMongoError

from channel.base import Channel, StoredResult
from channel.errors import ResultTooLarge, StoreUnavailable

DEFAULT_DATABASE = "seekgive"
SERVER_SELECTION_TIMEOUT_MS = 5000


class MongoChannel(Channel):
    """Results in the `results` collection, Giver keys in `givers`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: AsyncMongoClient = AsyncMongoClient(
            url, serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS
        )
        database = self._client.get_default_database(default=DEFAULT_DATABASE)
        self._givers = database["givers"]
        self._results = database["results"]

    def _unavailable(self, e: PyMongoError) -> StoreUnavailable:
        return StoreUnavailable(f"MongoDB error: {e}", url=self.url)

    async def _open(self) -> None:
        try:
            await self._results.create_index([("task_id", ASCENDING)])
            await self._results.create_index([("job_id", ASCENDING), ("_id", ASCENDING)])
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _put_giver_key(self, giver_id: str, public_key: str) -> None:
        try:
            await self._givers.update_one(
                {"_id": giver_id}, {"$set": {"public_key": public_key}}, upsert=True
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _giver_key(self, giver_id: str) -> str | None:
        try:
            doc = await self._givers.find_one({"_id": giver_id})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return doc["public_key"] if doc else None

    async def _insert_result(self, row: StoredResult) -> StoredResult:
        doc = {
            "_id": row.result_id,
            "task_id": row.task_id,
            "job_id": row.job_id,
            "giver_id": row.giver_id,
            "received_at": row.received_at,
            "body": Binary(row.body),
        }
        try:
            await self._results.insert_one(doc)
            return row
        except DuplicateKeyError:
            pass
        except DocumentTooLarge as e:
            raise ResultTooLarge(row.result_id, len(row.body)) from e
        except PyMongoError as e:
            raise self._unavailable(e) from e
        try:
            stored = await self._results.find_one({"_id": row.result_id})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        if stored is None:
            raise StoreUnavailable(
                f"result {row.result_id} was reported as a duplicate but is not stored",
                url=self.url,
            )
        return StoredResult(
            result_id=stored["_id"],
            task_id=stored["task_id"],
            job_id=stored["job_id"],
            giver_id=stored["giver_id"],
            received_at=stored["received_at"],
            body=bytes(stored["body"]),
        )

    async def _find_by_tasks(self, task_ids: list[str]) -> list[bytes]:
        return await self._bodies({"task_id": {"$in": task_ids}}, limit=0)

    async def _find_by_job(self, job_id: str, after: str, limit: int) -> list[bytes]:
        return await self._bodies({"job_id": job_id, "_id": {"$gt": after}}, limit=limit)

    async def _bodies(self, query: dict, *, limit: int) -> list[bytes]:
        try:
            cursor = self._results.find(query, {"body": 1}).sort("_id", ASCENDING).limit(limit)
            return [bytes(doc["body"]) async for doc in cursor]
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _close(self) -> None:
        await self._client.close()
