"""Reader tokens in the MongoDB results store (collection `readers`, keyed by the
token's digest), mixed into `MongoChannel`."""

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from channel.errors import StoreUnavailable
from channel.store.readers import Reader


class MongoReaders:
    """The reader half of `MongoChannel`, which owns the collection used here."""

    _readers_collection: AsyncCollection[dict[str, Any]]
    _unavailable: Callable[[PyMongoError], StoreUnavailable]
    _call: Callable[[Awaitable[Any]], Awaitable[Any]]

    async def reader_entries(self) -> list[tuple[str, Reader]]:
        cursor = self._readers_collection.find({}, sort=[("created_at", ASCENDING)])
        return [(doc["_id"], _reader(doc)) for doc in await self._call(cursor.to_list())]

    async def _put_reader(self, digest: str, reader: Reader) -> None:
        wire = reader.to_wire()
        try:
            await self._readers_collection.insert_one({"_id": digest, **wire})
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _reader(self, digest: str) -> Reader | None:
        try:
            doc = await self._readers_collection.find_one({"_id": digest})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return _reader(doc) if doc else None

    async def _readers(self) -> list[Reader]:
        try:
            cursor = self._readers_collection.find({}).sort("created_at", ASCENDING)
            return [_reader(doc) async for doc in cursor]
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _revoke_reader(self, token_id: str) -> Reader | None:
        try:
            doc = await self._readers_collection.find_one_and_update(
                {"token_id": token_id},
                {"$set": {"revoked": True}},
                return_document=ReturnDocument.AFTER,
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return _reader(doc) if doc else None


def _reader(doc: dict[str, Any]) -> Reader:
    return Reader(
        token_id=doc["token_id"],
        label=doc["label"],
        jobs=tuple(doc["jobs"]),
        datasets=tuple(doc["datasets"]),
        upload=doc["upload"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        revoked=doc["revoked"],
    )
