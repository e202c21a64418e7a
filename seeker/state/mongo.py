"""The Seeker's state in MongoDB (or FerretDB), through PyMongo's async client
(its jobs in `mongo_jobs`, its schedules in `mongo_schedules`, the keys jobs
claim in `mongo_keys`, its jobs' and blocks' indexes in `mongo_indexes`).

Collections `jobs`, `blocks`, `giver_records`, `tokens`, `admissions`,
`scrapers`, `schedules` and `schedule_runs`, keyed by id, `job_keys` for the
keys of jobs that discover keys, `leader` for the leader lease and
`seeker_key` for the deployment's key. Each document keeps the fields queries
need at the top and the rest as canonical JSON bytes, so operator settings and
keys (nested arrays, dots, dollars) are stored as given. Only single-document
writes, finds with filter, sort and limit, and plain indexes are relied on
(partial ones where the server has them); each query is served by an index
made at open, so none reads a collection through.
"""

from typing import Any

from bson import Binary
from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from channel.store.mongoclient import (
    collections_empty,
    keep_indexes,
    mongo_client,
    ping_server,
    problem,
    without_secrets,
)
from channel.store.schema import migrate_mongo
from channel.store.whole import MongoWhole
from channel.wire import canonical
from seeker.errors import StateUnavailable
from seeker.state.base import Doc, Leader, StateStore
from seeker.state.migrations import STATE
from seeker.state.mongo_indexes import JOB_INDEXES, PENDING, index, keep_block_indexes
from seeker.state.mongo_jobs import MongoJobs
from seeker.state.mongo_keys import MongoJobKeys
from seeker.state.mongo_schedules import MongoSchedules

DUPLICATE_KEY = 11000


def _stored_block(doc: Doc) -> dict[str, Any]:
    return {
        "_id": doc["block_id"],
        "job_id": doc["job_id"],
        "seq": doc["seq"],
        "status": doc["status"],
        "ready_at": doc["ready_at"],
        "version": doc["version"],
        "givers": doc["givers"],
        "disputed": doc["disputed"],
        "doc": Binary(canonical.dumps(doc)),
    }


def _plain(stored: dict[str, Any]) -> Doc:
    return canonical.loads(stored["doc"])


class MongoState(MongoWhole, MongoJobs, MongoSchedules, MongoJobKeys, StateStore):
    _not_content = ("leader",)
    _versions = STATE

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = mongo_client(url)
        database = self._client.get_default_database()
        self._database = database
        self._jobs = database["jobs"]
        self._blocks = database["blocks"]
        self._givers = database["giver_records"]
        self._leader = database["leader"]
        self._seeker_key = database["seeker_key"]
        self._tokens = database["tokens"]
        self._admissions = database["admissions"]
        self._operators = database["operators"]
        self._schedules = database["schedules"]
        self._runs = database["schedule_runs"]
        self._scrapers = database["scrapers"]
        self._job_keys = database["job_keys"]
        self._collections = [
            collection.name
            for collection in vars(self).values()
            if isinstance(collection, AsyncCollection)
        ]

    def _unavailable(self, e: Exception) -> StateUnavailable:
        return StateUnavailable(problem(self._client, e), url=self.url)

    async def _open(self) -> None:
        try:
            new = await collections_empty(self._database, self._collections)
            await migrate_mongo(self._database, STATE, without_secrets(self.url), new)
            await keep_block_indexes(self._blocks, without_secrets(self.url))
            await keep_indexes(self._jobs, JOB_INDEXES)
            for listed in (self._tokens, self._schedules):
                await keep_indexes(listed, [index("created_at", "_id")])
            await keep_indexes(self._runs, [index("schedule_id", "tick")])
            await keep_indexes(self._job_keys, [index("job_id", "seq")])
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def close(self) -> None:
        await self._client.close()

    async def ping(self) -> None:
        try:
            await ping_server(self._client)
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _find(
        self, collection: Any, query: Doc, sort: list[Any], limit: int = 0
    ) -> list[Doc]:
        try:
            cursor = collection.find(query, sort=sort, limit=limit)
            return [_plain(doc) async for doc in cursor]
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def insert_blocks(self, docs: list[Doc]) -> int:
        if not docs:
            return 0
        try:
            result = await self._blocks.insert_many(
                [_stored_block(doc) for doc in docs], ordered=False
            )
        except BulkWriteError as e:
            errors = e.details.get("writeErrors", [])
            if any(error.get("code") != DUPLICATE_KEY for error in errors):
                raise self._unavailable(e) from e
            return int(e.details.get("nInserted", len(docs) - len(errors)))
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return len(result.inserted_ids)

    async def block(self, block_id: str) -> Doc | None:
        try:
            doc = await self._blocks.find_one({"_id": block_id})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return _plain(doc) if doc else None

    async def replace_block(self, doc: Doc) -> bool:
        try:
            result = await self._blocks.replace_one(
                {"_id": doc["block_id"], "version": doc["version"] - 1}, _stored_block(doc)
            )
        except (PyMongoError, InvalidDocument) as e:
            raise self._unavailable(e) from e
        return result.modified_count == 1

    async def ready_blocks(self, job_id: str, now: float, limit: int) -> list[Doc]:
        return await self._find(
            self._blocks,
            {"status": PENDING, "job_id": job_id, "ready_at": {"$lte": now}},
            [("seq", ASCENDING)],
            limit,
        )

    async def job_blocks(self, job_id: str, after_seq: int, limit: int) -> list[Doc]:
        return await self._find(
            self._blocks,
            {"job_id": job_id, "seq": {"$gt": after_seq}},
            [("seq", ASCENDING)],
            limit,
        )

    async def disputed_blocks(self, job_id: str, after_seq: int, limit: int) -> list[Doc]:
        return await self._find(
            self._blocks,
            {"job_id": job_id, "disputed": True, "seq": {"$gt": after_seq}},
            [("seq", ASCENDING)],
            limit,
        )

    async def giver_blocks(self, giver_id: str) -> list[Doc]:
        return await self._find(self._blocks, {"givers": giver_id}, [("_id", ASCENDING)])

    async def last_seq(self, job_id: str) -> int:
        docs = await self._find(self._blocks, {"job_id": job_id}, [("seq", DESCENDING)], 1)
        return docs[0]["seq"] if docs else -1

    async def put_givers(self, docs: list[Doc]) -> None:
        try:
            for doc in docs:
                await self._givers.replace_one(
                    {"_id": doc["giver_id"]}, {"doc": Binary(canonical.dumps(doc))}, upsert=True
                )
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def givers(self) -> list[Doc]:
        return await self._find(self._givers, {}, [("_id", ASCENDING)])

    async def take_leader(self, holder: str, url: str, now: float, period_s: float) -> Leader:
        """One findOneAndUpdate: it matches the lease only if `holder` has it or it
        has expired; otherwise the upsert collides with the held lease's id."""
        try:
            doc = await self._leader.find_one_and_update(
                {"_id": "leader", "$or": [{"holder": holder}, {"expires_at": {"$lte": now}}]},
                {"$set": {"holder": holder, "url": url, "expires_at": now + period_s}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            try:
                doc = await self._leader.find_one({"_id": "leader"})
            except PyMongoError as e:
                raise self._unavailable(e) from e
            if doc is None:
                # Released between the two calls: no one holds it now.
                return Leader("", "", 0.0)
        except PyMongoError as e:
            raise self._unavailable(e) from e
        if doc is None:
            return Leader("", "", 0.0)
        return Leader(doc["holder"], doc["url"], float(doc["expires_at"]))

    async def _insert_if_absent(self, collection: Any, key: str, fields: dict[str, Any]) -> Any:
        """One upsert that sets `fields` only when `_id` `key` is new; the stored document."""
        try:
            try:
                return await collection.find_one_and_update(
                    {"_id": key},
                    {"$setOnInsert": fields},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Another Seeker inserted it between our match and our insert.
                return await collection.find_one({"_id": key})
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def seeker_key(self, pem: str) -> str:
        doc = await self._insert_if_absent(self._seeker_key, "seeker", {"pem": pem})
        return str(doc["pem"])

    async def stored_key(self) -> str | None:
        doc = await self._call(self._seeker_key.find_one({"_id": "seeker"}))
        return str(doc["pem"]) if doc else None

    async def insert_token(self, doc: Doc) -> None:
        try:
            await self._tokens.insert_one(
                {
                    "_id": doc["token_id"],
                    "created_at": doc["created_at"],
                    "version": doc["version"],
                    "doc": Binary(canonical.dumps(doc)),
                }
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def token(self, token_id: str) -> Doc | None:
        docs = await self._find(self._tokens, {"_id": token_id}, [], 1)
        return docs[0] if docs else None

    async def tokens(self) -> list[Doc]:
        return await self._find(self._tokens, {}, [("created_at", ASCENDING), ("_id", ASCENDING)])

    async def replace_token(self, doc: Doc) -> bool:
        try:
            result = await self._tokens.replace_one(
                {"_id": doc["token_id"], "version": doc["version"] - 1},
                {
                    "created_at": doc["created_at"],
                    "version": doc["version"],
                    "doc": Binary(canonical.dumps(doc)),
                },
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return result.modified_count == 1

    async def operators(self) -> Doc | None:
        docs = await self._find(self._operators, {"_id": "operators"}, [], 1)
        return docs[0] if docs else None

    async def replace_operators(self, doc: Doc) -> bool:
        stored = {"version": doc["version"], "doc": Binary(canonical.dumps(doc))}
        try:
            if doc["version"] == 1:
                await self._operators.insert_one({"_id": "operators", **stored})
                return True
            result = await self._operators.replace_one(
                {"_id": "operators", "version": doc["version"] - 1}, stored
            )
        except DuplicateKeyError:
            return False
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return result.modified_count == 1

    async def admit(self, doc: Doc) -> Doc:
        stored = await self._insert_if_absent(
            self._admissions, doc["giver_id"], {"doc": Binary(canonical.dumps(doc))}
        )
        return _plain(stored)

    async def admission(self, giver_id: str) -> Doc | None:
        docs = await self._find(self._admissions, {"_id": giver_id}, [], 1)
        return docs[0] if docs else None

    async def admissions(self) -> list[Doc]:
        return await self._find(self._admissions, {}, [("_id", ASCENDING)])

    async def forget_admission(self, giver_id: str) -> bool:
        try:
            result = await self._admissions.delete_one({"_id": giver_id})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return result.deleted_count == 1

    async def put_scraper(self, doc: Doc) -> None:
        try:
            await self._scrapers.replace_one(
                {"_id": doc["name"]}, {"doc": Binary(canonical.dumps(doc))}, upsert=True
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def scraper(self, name: str) -> Doc | None:
        docs = await self._find(self._scrapers, {"_id": name}, [], 1)
        return docs[0] if docs else None

    async def scrapers(self) -> list[Doc]:
        return await self._find(self._scrapers, {}, [("_id", ASCENDING)])

    async def delete_scraper(self, name: str) -> bool:
        try:
            result = await self._scrapers.delete_one({"_id": name})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return result.deleted_count == 1
