"""Job documents in the MongoDB state store (collection `jobs`), mixed into
`MongoState`. Each document keeps at its top what the queries need: the job's
creation time (for pages of jobs), its status (for counts) and its finish time
(for the jobs a leader holds in memory), each served by an index
(mongo_indexes.JOB_INDEXES)."""

from collections.abc import Awaitable, Callable
from typing import Any

from bson import Binary
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import PyMongoError

from channel.wire import canonical
from seeker.errors import StateUnavailable
from seeker.state.base import Doc


class MongoJobs:
    """The job half of `MongoState`, which owns the collections used here."""

    _jobs: Any
    _blocks: Any
    _job_keys: Any
    _find: Callable[..., Awaitable[list[Doc]]]
    _unavailable: Callable[[Exception], StateUnavailable]

    async def put_job(self, doc: Doc) -> None:
        try:
            await self._jobs.replace_one(
                {"_id": doc["job_id"]},
                {
                    "created_at": doc["created_at"],
                    "status": doc["status"],
                    "finished_at": doc["finished_at"],
                    "doc": Binary(canonical.dumps(doc)),
                },
                upsert=True,
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def jobs(self) -> list[Doc]:
        return await self._find(self._jobs, {}, [("created_at", ASCENDING), ("_id", ASCENDING)])

    async def job(self, job_id: str) -> Doc | None:
        docs = await self._find(self._jobs, {"_id": job_id}, [], 1)
        return docs[0] if docs else None

    async def held_jobs(self, finished_since: float) -> list[Doc]:
        # Two queries, each served by the index on finished_at; sorted here.
        docs = await self._find(self._jobs, {"finished_at": None}, [])
        docs += await self._find(self._jobs, {"finished_at": {"$gte": finished_since}}, [])
        return sorted(docs, key=lambda doc: (doc["created_at"], doc["job_id"]))

    async def jobs_page(self, before: tuple[float, str] | None, limit: int) -> list[Doc]:
        newest_first = [("created_at", DESCENDING), ("_id", DESCENDING)]
        if before is None:
            return await self._find(self._jobs, {}, newest_first, limit)
        # The jobs created with the one before, after it by id; then those created
        # earlier: two queries, each served by the index on creation and id.
        created_at, job_id = before
        docs = await self._find(
            self._jobs,
            {"created_at": created_at, "_id": {"$lt": job_id}},
            [("_id", DESCENDING)],
            limit,
        )
        if len(docs) < limit:
            docs += await self._find(
                self._jobs, {"created_at": {"$lt": created_at}}, newest_first, limit - len(docs)
            )
        return docs

    async def count_jobs(self, status: str) -> int:
        try:
            return int(await self._jobs.count_documents({"status": status}))
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def delete_job(self, job_id: str) -> None:
        try:
            await self._blocks.delete_many({"job_id": job_id})
            await self._job_keys.delete_many({"job_id": job_id})
            await self._jobs.delete_one({"_id": job_id})
        except PyMongoError as e:
            raise self._unavailable(e) from e
