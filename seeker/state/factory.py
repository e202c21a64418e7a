"""Pick and open the Seeker's state store from a URL, as the Channel's store is
(channel.store.factory.from_url)."""

from channel.store.factory import from_url
from seeker.errors import BadStateUrl
from seeker.state.base import StateStore
from seeker.state.mongo import MongoState
from seeker.state.sqlite import SqliteState


async def open_state(url: str) -> StateStore:
    """Open the state store at `url`: `sqlite:///path` (relative to the working
    directory; four slashes for an absolute path) or `mongodb://…`."""
    store: StateStore = await from_url(
        url, sqlite=SqliteState, mongo=MongoState, bad_url=BadStateUrl
    )
    return store
