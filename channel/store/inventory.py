"""Everything a results store holds, listed whole: what a backup of
the Channel reads and a restore needs besides the Channel's own writes."""

from abc import abstractmethod

from channel.store.readers import Reader
from channel.store.whole import Whole


class Inventory(Whole):
    """The whole-store half of the Channel, filled in by each backend."""

    @abstractmethod
    async def giver_keys(self) -> list[tuple[str, str]]:
        """Every registered Giver's id and public key, by id."""

    @abstractmethod
    async def reader_entries(self) -> list[tuple[str, Reader]]:
        """Every reader token's digest and what it may do, oldest first."""
