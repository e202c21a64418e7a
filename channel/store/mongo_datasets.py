"""Datasets in the MongoDB results store (collection `datasets`, their chunks in
the `dataset_chunks` GridFS bucket), mixed into `MongoChannel`."""

from collections.abc import AsyncIterator, Callable
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from channel.errors import DatasetExists, StoreUnavailable
from channel.store.datasets import Dataset


class MongoDatasets:
    """The dataset half of `MongoChannel`, which owns the collection and bucket used here."""

    _datasets_collection: AsyncCollection[dict[str, Any]]
    _dataset_bucket: AsyncGridFSBucket
    _unavailable: Callable[[PyMongoError], StoreUnavailable]
    _file_chunks: Callable[[AsyncGridFSBucket, str, str], AsyncIterator[bytes]]

    async def _dataset(self, name: str) -> Dataset | None:
        try:
            doc = await self._datasets_collection.find_one({"_id": name})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return _dataset(doc) if doc else None

    async def _datasets(self) -> list[Dataset]:
        try:
            cursor = self._datasets_collection.find({}).sort("_id", ASCENDING)
            return [_dataset(doc) async for doc in cursor]
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _stage_dataset(self, upload_id: str, name: str, chunks: AsyncIterator[bytes]) -> None:
        try:
            async with self._dataset_bucket.open_upload_stream_with_id(
                upload_id, name, metadata={"dataset": name}
            ) as upload:
                async for chunk in chunks:
                    await upload.write(chunk)
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def _publish_dataset(self, dataset: Dataset) -> None:
        try:
            await self._datasets_collection.insert_one(
                {"_id": dataset.name, **dataset.to_wire(), "upload_id": dataset.upload_id}
            )
        except DuplicateKeyError as e:
            raise DatasetExists(dataset.name) from e
        except PyMongoError as e:
            raise self._unavailable(e) from e

    def _dataset_chunks(self, upload_id: str) -> AsyncIterator[bytes]:
        return self._file_chunks(
            self._dataset_bucket, upload_id, f"the chunks of upload {upload_id}"
        )

    async def _delete_dataset(self, name: str) -> Dataset | None:
        try:
            doc = await self._datasets_collection.find_one_and_delete({"_id": name})
        except PyMongoError as e:
            raise self._unavailable(e) from e
        if doc is None:
            return None
        dataset = _dataset(doc)
        await self._drop_staged(dataset.upload_id)
        return dataset

    async def _drop_staged(self, upload_id: str) -> None:
        try:
            await self._dataset_bucket.delete(upload_id)
        except NoFile:
            # Only chunks were written (the upload never closed): they are gone now.
            pass
        except PyMongoError as e:
            raise self._unavailable(e) from e


def _dataset(doc: dict[str, Any]) -> Dataset:
    return Dataset(
        name=doc["_id"],
        uploaded_by=doc["uploaded_by"],
        created_at=doc["created_at"],
        records=doc["records"],
        size_bytes=doc["size_bytes"],
        sha256=doc["sha256"],
        upload_id=doc["upload_id"],
    )
