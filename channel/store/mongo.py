"""The MongoDB backend, through PyMongo's async client (its datasets in
`mongo_datasets`, its reader tokens in `mongo_readers`).

Only what MongoDB and FerretDB 1.x both support is relied on: single-document
writes, `insert_many`, finds with filter, sort and limit, `$inc` counters and
plain indexes, each query served by one made at open (GridFS's own included)
so none reads a collection through. Records of a large result go in GridFS. A result's number in its
job comes from a counter document; retention is a TTL index where the server
has them (FerretDB 1.x does not) and the sweep everywhere, since a TTL index
removes a result but not its GridFS chunks.
"""

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, OperationFailure, PyMongoError

from channel.errors import StoreUnavailable
from channel.store.base import Channel
from channel.store.migrations import CHANNEL
from channel.store.mongo_datasets import MongoDatasets
from channel.store.mongo_readers import MongoReaders
from channel.store.mongoclient import (
    collections_empty,
    keep_indexes,
    lacks_option,
    mongo_client,
    ping_server,
    problem,
    without_secrets,
)
from channel.store.rows import JobPolicy, StoredResult
from channel.store.schema import migrate_mongo
from channel.store.whole import MongoWhole

log = logging.getLogger(__name__)

SWEEP_BATCH = 1000
DUPLICATE_KEY = 11000
RESULT_BUCKET, DATASET_BUCKET = "result_chunks", "dataset_chunks"
GRIDFS_BUCKETS = (RESULT_BUCKET, DATASET_BUCKET)


class MongoChannel(MongoWhole, MongoDatasets, MongoReaders, Channel):
    """Results in `results`, their large records in the `result_chunks` GridFS bucket,
    Giver keys in `givers`, job policies in `job_policies`, result numbers in
    `result_counters`; reader tokens in `readers`; datasets in `datasets`, their
    chunks in the `dataset_chunks` GridFS bucket."""

    _versions = CHANNEL

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._client = mongo_client(url)
        database = self._client.get_default_database()
        self._database = database
        self._givers = database["givers"]
        self._jobs_collection = database["job_policies"]
        self._readers_collection = database["readers"]
        self._results = database["results"]
        self._counters = database["result_counters"]
        self._bucket = AsyncGridFSBucket(database, bucket_name=RESULT_BUCKET)
        self._datasets_collection = database["datasets"]
        self._dataset_bucket = AsyncGridFSBucket(database, bucket_name=DATASET_BUCKET)
        self.ttl_index = False
        # Its collections, and those of its GridFS buckets.
        self._collections = [
            *(c.name for c in vars(self).values() if isinstance(c, AsyncCollection)),
            *(f"{bucket}.{part}" for bucket in GRIDFS_BUCKETS for part in ("files", "chunks")),
        ]

    def _unavailable(self, e: PyMongoError) -> StoreUnavailable:
        return StoreUnavailable(problem(self._client, e), url=self.url)

    async def _open(self) -> None:
        try:
            new = await collections_empty(self._database, self._collections)
            await migrate_mongo(self._database, CHANNEL, without_secrets(self.url), new)
            await keep_indexes(
                self._results,
                [
                    IndexModel([("task_id", ASCENDING), ("_id", ASCENDING)]),
                    IndexModel([("job_id", ASCENDING), ("seq", ASCENDING)], unique=True),
                ],
                replaced=["task_id_1"],
            )
            await keep_indexes(
                self._readers_collection,
                [
                    IndexModel([("token_id", ASCENDING)], unique=True),
                    IndexModel([("created_at", ASCENDING)]),
                ],
            )
            for bucket in GRIDFS_BUCKETS:
                await self._keep_bucket_indexes(bucket)
            await keep_indexes(
                self._database[f"{RESULT_BUCKET}.files"],
                [IndexModel([("metadata.expires_at", ASCENDING)])],
            )
            self.ttl_index = await self._create_ttl_index()
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _keep_bucket_indexes(self, bucket: str) -> None:
        """The indexes GridFS makes on a bucket's first upload, made at open: a
        bucket's chunks are deleted by file before any upload (what a failed one
        left)."""
        await keep_indexes(
            self._database[f"{bucket}.files"],
            [IndexModel([("filename", ASCENDING), ("uploadDate", ASCENDING)])],
        )
        await keep_indexes(
            self._database[f"{bucket}.chunks"],
            [IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)],
        )

    async def _create_ttl_index(self) -> bool:
        """Let the server remove expired results itself where it has TTL indexes;
        whether it does. Elsewhere `expires_at` gets a plain index, for the sweep."""
        try:
            await self._results.create_index(
                [("expires_at", ASCENDING)], expireAfterSeconds=0, name="results_ttl"
            )
            return True
        except OperationFailure as e:
            if not lacks_option(e):
                raise
            log.info("no TTL index on %s (%s); expired results go by the sweep", self.url, e)
        await self._results.create_index([("expires_at", ASCENDING)], name="results_expiry")
        return False

    async def giver_keys(self) -> list[tuple[str, str]]:
        docs = await self._call(self._givers.find({}, sort=[("_id", ASCENDING)]).to_list())
        return [(doc["_id"], doc["public_key"]) for doc in docs]

    async def job_policies(self) -> list[JobPolicy]:
        cursor = self._jobs_collection.find({}, sort=[("_id", ASCENDING)])
        return [_policy(doc) for doc in await self._call(cursor.to_list())]

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

    async def _put_job(self, policy: JobPolicy) -> JobPolicy:
        try:
            doc = await self._jobs_collection.find_one_and_update(
                {"_id": policy.job_id},
                {"$setOnInsert": {"retention_s": policy.retention_s, "sealed": policy.sealed}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e
        if doc is None:
            raise StoreUnavailable(f"job {policy.job_id} was not stored", url=self.url)
        return _policy(doc)

    async def _job(self, job_id: str) -> JobPolicy | None:
        try:
            doc = await self._jobs_collection.find_one({"_id": job_id})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return _policy(doc) if doc else None

    async def _result(self, result_id: str) -> StoredResult | None:
        rows = await self._find({"_id": result_id}, limit=1)
        return rows[0] if rows else None

    async def _insert_results(
        self, batch: list[tuple[StoredResult, list[bytes]]]
    ) -> list[StoredResult]:
        # `begin` found none of these stored; one stored since (by another Channel
        # process) fails its insert as a duplicate and the stored one stands.
        new: dict[str, tuple[StoredResult, list[bytes]]] = {}
        for row, chunks in batch:
            new.setdefault(row.result_id, (row, chunks))
        stored = await self._insert_new(list(new.values()))
        return [stored[row.result_id] for row, _ in batch]

    async def _insert_new(
        self, batch: list[tuple[StoredResult, list[bytes]]]
    ) -> dict[str, StoredResult]:
        try:
            numbered = await self._number([row for row, _ in batch])
            for row, chunks in batch:
                # A large result posted again keeps the chunks it was stored with.
                if chunks and await self._result(row.result_id) is None:
                    await self._upload(row, chunks)
            await self._results.insert_many([_doc(row) for row in numbered], ordered=False)
        except BulkWriteError as e:
            if any(error["code"] != DUPLICATE_KEY for error in e.details["writeErrors"]):
                raise self._unavailable(e) from e
            # Another Channel process stored some of these first: theirs stand.
            raced = {numbered[error["index"]].result_id for error in e.details["writeErrors"]}
            found = await self._find({"_id": {"$in": list(raced)}}, limit=0)
            return {row.result_id: row for row in numbered} | {r.result_id: r for r in found}
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return {row.result_id: row for row in numbered}

    async def _number(self, rows: list[StoredResult]) -> list[StoredResult]:
        """The rows numbered after their job's last, one counter update per job."""
        per_job: dict[str, int] = {}
        for row in rows:
            per_job[row.job_id] = per_job.get(row.job_id, 0) + 1
        next_seq: dict[str, int] = {}
        for job_id, count in per_job.items():
            counter = await self._counters.find_one_and_update(
                {"_id": job_id},
                {"$inc": {"seq": count}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            if counter is None:
                raise StoreUnavailable(f"the result counter of job {job_id} was not stored")
            next_seq[job_id] = counter["seq"] - count + 1
        numbered = []
        for row in rows:
            numbered.append(replace(row, seq=next_seq[row.job_id]))
            next_seq[row.job_id] += 1
        return numbered

    async def _upload(self, row: StoredResult, chunks: list[bytes]) -> None:
        # What an earlier attempt that never reached `results` left is replaced.
        try:
            await self._bucket.delete(row.result_id)
        except NoFile:
            pass
        metadata: dict[str, Any] = {"job_id": row.job_id, "expires_at": _date(row.expires_at)}
        async with self._bucket.open_upload_stream_with_id(
            row.result_id, row.result_id, metadata=metadata
        ) as upload:
            for chunk in chunks:
                await upload.write(chunk)

    async def _find_by_tasks(self, task_ids: list[str]) -> list[StoredResult]:
        return await self._find({"task_id": {"$in": task_ids}}, limit=0, sort="_id")

    async def _page(self, job_id: str, after: int, limit: int) -> list[StoredResult]:
        return await self._find({"job_id": job_id, "seq": {"$gt": after}}, limit=limit, sort="seq")

    async def _find(
        self, query: dict[str, Any], *, limit: int, sort: str = "_id"
    ) -> list[StoredResult]:
        try:
            cursor = self._results.find(query).sort(sort, ASCENDING).limit(limit)
            return [_row(doc) async for doc in cursor]
        except PyMongoError as e:
            raise self._unavailable(e) from e

    def _chunks(self, result_id: str) -> AsyncIterator[bytes]:
        return self._file_chunks(self._bucket, result_id, f"the records of result {result_id}")

    async def _file_chunks(
        self, bucket: AsyncGridFSBucket, file_id: str, what: str
    ) -> AsyncIterator[bytes]:
        """The GridFS chunks of file `file_id` in `bucket`, in order."""
        try:
            download = await bucket.open_download_stream(file_id)
            while chunk := await download.readchunk():
                yield chunk
        except NoFile as e:
            raise StoreUnavailable(f"{what} are missing (GridFS)", url=self.url) from e
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _sweep(self, now: float) -> int:
        expired = {"$lte": _date(now)}
        removed = 0
        try:
            while ids := [
                doc["_id"]
                async for doc in self._results.find({"expires_at": expired}, {"_id": 1}).limit(
                    SWEEP_BATCH
                )
            ]:
                removed += (await self._results.delete_many({"_id": {"$in": ids}})).deleted_count
            async for file in self._bucket.find({"metadata.expires_at": expired}):
                await self._bucket.delete(file._id)
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return removed

    async def _delete_job(self, job_id: str) -> int:
        removed = 0
        try:
            while ids := [
                doc["_id"]
                async for doc in self._results.find({"job_id": job_id}, {"_id": 1}).limit(
                    SWEEP_BATCH
                )
            ]:
                for result_id in ids:
                    try:
                        await self._bucket.delete(result_id)
                    except NoFile:
                        pass
                removed += (await self._results.delete_many({"_id": {"$in": ids}})).deleted_count
            await self._counters.delete_one({"_id": job_id})
            await self._jobs_collection.delete_one({"_id": job_id})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return removed

    async def _ping(self) -> None:
        try:
            await ping_server(self._client)
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _close(self) -> None:
        await self._client.close()


def _policy(doc: dict[str, Any]) -> JobPolicy:
    return JobPolicy(doc["_id"], doc.get("retention_s"), bool(doc.get("sealed")))


def _date(timestamp: float | None) -> datetime | None:
    # A TTL index only expires BSON dates.
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _timestamp(date: datetime | None) -> float | None:
    return None if date is None else date.replace(tzinfo=UTC).timestamp()


def _doc(row: StoredResult) -> dict[str, Any]:
    return {
        "_id": row.result_id,
        "task_id": row.task_id,
        "job_id": row.job_id,
        "giver_id": row.giver_id,
        "received_at": row.received_at,
        "expires_at": _date(row.expires_at),
        "header": Binary(row.header),
        "records": row.records,
        "size_bytes": row.size_bytes,
        "inline": None if row.inline is None else Binary(row.inline),
        "seq": row.seq,
    }


def _row(doc: dict[str, Any]) -> StoredResult:
    inline = doc["inline"]
    return StoredResult(
        result_id=doc["_id"],
        task_id=doc["task_id"],
        job_id=doc["job_id"],
        giver_id=doc["giver_id"],
        received_at=doc["received_at"],
        expires_at=_timestamp(doc["expires_at"]),
        header=bytes(doc["header"]),
        records=doc["records"],
        size_bytes=doc["size_bytes"],
        inline=None if inline is None else bytes(inline),
        seq=doc["seq"],
    )
