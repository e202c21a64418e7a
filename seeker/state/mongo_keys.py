"""The keys claimed by jobs that discover keys, in the MongoDB state store
(collection `job_keys`, one document per key and job), mixed into `MongoState`."""

import hashlib
from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError, PyMongoError

from seeker.errors import StateUnavailable


class MongoJobKeys:
    """The claimed-keys half of `MongoState`, which owns the collection used here."""

    _job_keys: Any
    _unavailable: Callable[[Exception], StateUnavailable]

    async def claim_keys(
        self, job_id: str, keys: list[str], first_seq: int, block_size: int, limit: int
    ) -> list[tuple[str, int]]:
        claimed: list[tuple[str, int]] = []
        try:
            for key in keys:
                if len(claimed) == limit:
                    break
                seq = first_seq + len(claimed) // block_size
                try:
                    await self._job_keys.insert_one(
                        {"_id": _job_key_id(job_id, key), "job_id": job_id, "key": key, "seq": seq}
                    )
                except DuplicateKeyError:
                    continue
                claimed.append((key, seq))
        except PyMongoError as e:
            raise self._unavailable(e) from e
        return claimed

    async def claimed_keys(self, job_id: str, min_seq: int) -> list[tuple[str, int]]:
        try:
            cursor = self._job_keys.find(
                {"job_id": job_id, "seq": {"$gte": min_seq}}, sort=[("seq", ASCENDING)]
            )
            return [(doc["key"], doc["seq"]) async for doc in cursor]
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def count_claimed(self, job_id: str, min_seq: int) -> int:
        try:
            return await self._job_keys.count_documents(
                {"job_id": job_id, "seq": {"$gte": min_seq}}
            )
        except PyMongoError as e:
            raise self._unavailable(e) from e


def _job_key_id(job_id: str, key: str) -> str:
    """A claimed key's id: keys may be long and hold any character."""
    return hashlib.sha256(f"{job_id}\n{key}".encode()).hexdigest()
