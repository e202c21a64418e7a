"""In-process Givers of a test Seeker, and what the Seeker heard from them."""

import asyncio
from collections.abc import Callable
from typing import Any

from channel.wire.messages import Message
from giver.daemon import Giver
from seeker.grid.coordinator import Coordinator
from support.base import JOB_TIMEOUT_S

GiverFactory = Callable[..., Giver]


class Heard:
    """Every message the Seeker's coordinator handled, in order of arrival."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()
        self._handle = coordinator.on_message

    async def on_message(self, giver_id: str, message: Message) -> None:
        await self._handle(giver_id, message)
        self.messages.append(message)
        self._arrived.set()

    async def wait_for(self, kind: type[Message], count: int = 1) -> list[Any]:
        """The first `count` messages of `kind`, once the Seeker has handled them."""
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while len(found := [m for m in self.messages if isinstance(m, kind)]) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return found[:count]

    async def first(self, matches: Callable[[Message], bool], start: int = 0) -> tuple[int, Any]:
        """The first message from index `start` on that `matches`, and its index."""
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while True:
                for index in range(start, len(self.messages)):
                    if matches(self.messages[index]):
                        return index, self.messages[index]
                start = len(self.messages)
                self._arrived.clear()
                await self._arrived.wait()
