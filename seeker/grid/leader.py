"""The leader lease: which of several Seekers sharing a state store schedules.

The lease is one document in the state store, taken or renewed by a single
atomic write (`StateStore.take_leader`): it goes to this Seeker only if this
Seeker holds it already or its holder let it expire. The holder renews it
every third of the lease period; a holder that cannot renew stops
scheduling before the period it last secured runs out (measured on its own
monotonic clock), so by the time another Seeker may take the lease the
old holder has stopped. Block changes are compare-and-swap writes besides,
so even a holder that stalled past its lease cannot overwrite what its
successor wrote.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from channel.errors import StoreUnavailable
from seeker.errors import SeekerError
from seeker.state.base import Leader, StateStore

log = logging.getLogger(__name__)
# Stop leading this long before the secured period ends, for clock drift
# and for a write in flight.
SAFETY_MARGIN = 0.2


def instance_id(path: Path) -> str:
    """This Seeker's name in the lease, kept in `path` so a restart reclaims it."""
    try:
        name = path.read_text().strip()
    except FileNotFoundError:
        name = ""
    if not name:
        name = "s" + uuid.uuid4().hex[:12]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + "\n")
    return name


class Leadership:
    """Keeps trying to hold the lease; calls `promote` on taking it and `demote`
    on losing it."""

    def __init__(
        self,
        store: StateStore,
        holder: str,
        url: str,
        period_s: float,
        *,
        promote: Callable[[], Awaitable[None]],
        demote: Callable[[], Awaitable[None]],
    ) -> None:
        self.holder = holder
        self.current = Leader("", "", 0.0)
        self._store = store
        self._url = url
        self._period_s = period_s
        self._promote = promote
        self._demote = demote
        self._valid_until = 0.0  # monotonic
        self.leading = False
        self._warned = False

    async def attempt(self) -> None:
        """One try at taking or renewing the lease, and what follows from it."""
        started = time.monotonic()
        try:
            leader = await self._store.take_leader(
                self.holder, self._url, time.time(), self._period_s
            )
        except (StoreUnavailable, SeekerError) as e:
            level = logging.DEBUG if self._warned else logging.WARNING
            log.log(level, "cannot renew the leader lease: %s", e)
            self._warned = True
            if self.leading and time.monotonic() >= self._valid_until:
                await self._step_down("its lease ran out while the store was unreachable")
            return
        self._warned = False
        self.current = leader
        if leader.holder == self.holder:
            self._valid_until = started + self._period_s * (1 - SAFETY_MARGIN)
            if not self.leading:
                await self._take_up()
        elif self.leading:
            await self._step_down(f"{leader.holder} at {leader.url} holds the lease")

    async def _take_up(self) -> None:
        try:
            await self._promote()
        except (StoreUnavailable, SeekerError) as e:
            log.warning("holding the leader lease but cannot load the jobs: %s; trying again", e)
            await self._demote()
            return
        self.leading = True
        log.info("this Seeker (%s) holds the leader lease; scheduling", self.holder)

    async def _step_down(self, why: str) -> None:
        log.warning("this Seeker (%s) stops scheduling: %s", self.holder, why)
        self.leading = False
        await self._demote()

    async def release(self) -> None:
        """Let the lease go at once if this Seeker holds it (stopping), so that another
        Seeker, a backup or a restore need not wait for it to lapse."""
        if not self.leading:
            return
        self.leading = False
        try:
            await self._store.take_leader(self.holder, self._url, time.time(), 0.0)
        except (StoreUnavailable, SeekerError) as e:
            log.warning("cannot let the leader lease go (it lapses by itself): %s", e)

    async def run(self) -> None:
        """Renew every third of the period (sooner if the lease would lapse first)."""
        while True:
            wait = self._period_s / 3
            if self.leading:
                wait = min(wait, max(self._valid_until - time.monotonic(), 0.0))
            await asyncio.sleep(wait)
            await self.attempt()
