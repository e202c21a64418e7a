"""Pick and open the Seeker's state store from a URL."""

from pathlib import Path

from seeker.errors import BadStateUrl
from seeker.state.base import StateStore
from seeker.state.mongo import MongoState
from seeker.state.sqlite import SqliteState

SQLITE_PREFIX = "sqlite:///"
MONGO_PREFIXES = ("mongodb://", "mongodb+srv://")


async def open_state(url: str) -> StateStore:
    """Open the state store at `url`: `sqlite:///path` (relative to the working
    directory; four slashes for an absolute path) or `mongodb://…`."""
    store: StateStore
    if url.startswith(SQLITE_PREFIX):
        path = url.removeprefix(SQLITE_PREFIX)
        if not path:
            raise BadStateUrl(url, "no file path after sqlite:///")
        store = SqliteState(Path(path))
    elif url.startswith(MONGO_PREFIXES):
        store = MongoState(url)
    else:
        raise BadStateUrl(url, "expected sqlite:///PATH or mongodb://HOST/DATABASE")
    try:
        await store._open()
    except BaseException:
        await store.close()
        raise
    return store
