"""The deployment's Seeker key, which signs every task assigned to a Giver.

One key per state store: the first Seeker to start stores a new key (insert
if absent), and every Seeker sharing the store loads that one, so a Seeker
taking over after a failover signs with the key Givers have pinned.
"""

import asyncio

from channel.errors import IdentityError
from channel.wire.identity import Identity
from seeker.errors import StateUnavailable
from seeker.state.base import StateStore


async def seeker_identity(store: StateStore) -> Identity:
    """The Seeker key kept in `store`, created there on first use."""
    candidate = await asyncio.to_thread(Identity.generate)
    pem = await store.seeker_key(candidate.to_pem().decode())
    try:
        return Identity.from_pem(pem.encode())
    except IdentityError as e:
        raise StateUnavailable(
            f"the Seeker key in the state store is unusable: {e}", url=store.url
        ) from e
