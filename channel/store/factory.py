"""Pick and open a Channel backend from a store URL."""

from pathlib import Path

from channel.errors import BadStoreUrl
from channel.store.base import Channel
from channel.store.ingest import SizeLimits
from channel.store.mongo import MongoChannel
from channel.store.sqlite import SqliteChannel

SQLITE_PREFIX = "sqlite:///"
MONGO_PREFIXES = ("mongodb://", "mongodb+srv://")


async def open_channel(url: str, limits: SizeLimits | None = None) -> Channel:
    """Open the Channel at `url`: `sqlite:///path` or `mongodb://…`.

    As with SQLAlchemy, `sqlite:///data/c.db` is relative to the working
    directory and `sqlite:////var/lib/c.db` is absolute.
    """
    channel: Channel
    if url.startswith(SQLITE_PREFIX):
        path = url.removeprefix(SQLITE_PREFIX)
        if not path:
            raise BadStoreUrl(url, "no file path after sqlite:///")
        channel = SqliteChannel(Path(path))
    elif url.startswith(MONGO_PREFIXES):
        channel = MongoChannel(url)
    else:
        raise BadStoreUrl(url, "expected sqlite:///PATH or mongodb://HOST/DATABASE")
    if limits is not None:
        channel.limits = limits
    try:
        await channel._open()
    except BaseException:
        await channel.close()
        raise
    return channel
