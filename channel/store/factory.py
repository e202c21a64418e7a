"""Pick and open a store from its URL: the Channel's results store here, and the
Seeker's state store (seeker.state.factory) through the same `from_url`.

As with SQLAlchemy, `sqlite:///data/c.db` is relative to the working directory
and `sqlite:////var/lib/c.db` is absolute.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from channel.errors import BadStoreUrl
from channel.store.base import Channel
from channel.store.ingest import SizeLimits
from channel.store.mongo import MongoChannel
from channel.store.mongoclient import without_secrets as without_secrets
from channel.store.sqlite import SqliteChannel

SQLITE_PREFIX = "sqlite:///"
MONGO_PREFIXES = ("mongodb://", "mongodb+srv://")
MONGO_FORM = "mongodb://HOST[:PORT]/DATABASE"


class Openable(Protocol):
    """A store backend: made without I/O, then opened, and closed even half-open."""

    async def _open(self) -> None: ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=Openable)


async def from_url(
    url: str,
    *,
    sqlite: Callable[[Path], S],
    mongo: Callable[[str], S],
    bad_url: Callable[[str, str], Exception],
) -> S:
    """Open the store at `url` with the backend its scheme names: `sqlite(path)` for
    `sqlite:///PATH`, `mongo(url)` for `mongodb://HOST/DATABASE…`; `bad_url(url, why)`
    is raised for any other, and for a MongoDB URL that names no database. A store
    that fails to open is closed before the error goes on."""
    if url.startswith(SQLITE_PREFIX):
        path = url.removeprefix(SQLITE_PREFIX)
        if not path:
            raise bad_url(url, "no file path after sqlite:///")
        store = sqlite(Path(path))
    elif url.startswith(MONGO_PREFIXES):
        if not _database(url):
            raise bad_url(url, f"it names no database: expected {MONGO_FORM}")
        store = mongo(url)
    else:
        raise bad_url(url, f"expected sqlite:///PATH or {MONGO_FORM}")
    try:
        await store._open()
    except BaseException:
        await store.close()
        raise
    return store


def store_name(url: str) -> str:
    """A store's URL as it names the store to someone elsewhere: without secrets,
    and a SQLite file's path made absolute (the relative one holds only in the
    working directory of the process that opened it)."""
    if url.startswith(SQLITE_PREFIX):
        return SQLITE_PREFIX + str(Path(url.removeprefix(SQLITE_PREFIX)).absolute())
    return without_secrets(url)


def _database(url: str) -> str:
    """The database a MongoDB URL names: what lies between its hosts and its options
    (a "/" in a user name or password is percent-encoded)."""
    return url.partition("://")[2].partition("/")[2].partition("?")[0]


async def open_channel(url: str, limits: SizeLimits | None = None) -> Channel:
    """Open the Channel at `url`: `sqlite:///path` or `mongodb://…`."""

    def limited(channel: Channel) -> Channel:
        if limits is not None:
            channel.limits = limits
        return channel

    return await from_url(
        url,
        sqlite=lambda path: limited(SqliteChannel(path)),
        mongo=lambda url: limited(MongoChannel(url)),
        bad_url=BadStoreUrl,
    )
