"""A store taken whole, for backups and restores: whether it is empty, emptying
it, and its schema version; written once for the SQLite backends (over their
SqliteFile) and once for the MongoDB ones (over their collections), shared by
the Channel's store and the Seeker's state store."""

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from channel.store.mongoclient import collections_empty, wipe_collections
from channel.store.schema import Versions, mongo_version, record_mongo
from channel.store.sqlitefile import SqliteFile

T = TypeVar("T")


class Whole(ABC):
    @abstractmethod
    async def empty(self) -> bool:
        """Whether the store holds nothing a restore writes (a leader lease aside)."""

    @abstractmethod
    async def wipe(self) -> None:
        """Delete everything the store holds but its schema version."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The schema version the store records (channel.store.schema)."""

    @abstractmethod
    async def set_schema_version(self, version: int) -> None:
        """Record schema `version`, for the next open to migrate from."""


class SqliteWhole(Whole):
    """`Whole` over the backend's SqliteFile; tables named in `_not_content` (a
    lease, say) do not make it non-empty."""

    _file: SqliteFile
    _not_content: tuple[str, ...] = ()

    async def empty(self) -> bool:
        return await self._file.empty(*self._not_content)

    async def wipe(self) -> None:
        await self._file.wipe()

    async def schema_version(self) -> int:
        return await self._file.version()

    async def set_schema_version(self, version: int) -> None:
        await self._file.set_version(version)


class MongoWhole(Whole):
    """`Whole` over the backend's own collections (`_collections`, of which those in
    `_not_content` do not make it non-empty) in `_database`."""

    _database: AsyncDatabase[dict[str, Any]]
    _collections: list[str]
    _not_content: tuple[str, ...] = ()
    _versions: Versions

    @abstractmethod
    def _unavailable(self, e: PyMongoError) -> Exception:
        """The backend's own error for a PyMongo error."""

    async def _call(self, pending: Awaitable[T]) -> T:
        """What `pending` gives, a PyMongo error turned into the backend's own."""
        try:
            return await pending
        except PyMongoError as e:
            raise self._unavailable(e) from e

    async def empty(self) -> bool:
        content = [name for name in self._collections if name not in self._not_content]
        return await self._call(collections_empty(self._database, content))

    async def wipe(self) -> None:
        await self._call(wipe_collections(self._database, self._collections))

    async def schema_version(self) -> int:
        return (await self._call(mongo_version(self._database, self._versions.store)))[0]

    async def set_schema_version(self, version: int) -> None:
        await self._call(record_mongo(self._database, self._versions.store, version))
