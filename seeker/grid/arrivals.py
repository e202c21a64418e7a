"""Givers arriving, told in one line a period: a flood of registrations must not
write a line per Giver (each one is logged at debug)."""

import asyncio
import logging
from collections import Counter

from channel.wire.givers import GiverInfo

log = logging.getLogger(__name__)

# What arrived is told this long after the first arrival not told yet.
SUMMARY_S = 10.0


class Arrivals:
    """Counts registrations, admissions and Givers left waiting for approval, and
    logs them as one line `period_s` after the first one counted since the last."""

    def __init__(self, period_s: float = SUMMARY_S) -> None:
        self._period_s = period_s
        self._registered = 0
        self._new = 0
        self._admitted: Counter[str] = Counter()
        self._waiting = 0
        self._timer: asyncio.TimerHandle | None = None

    def registered(self, info: GiverInfo, *, new: bool) -> None:
        """`info`'s Giver registered; `new` if this Seeker did not know it yet."""
        log.debug(
            "giver %s (%s) registered: %d slots", info.giver_id, info.name, info.capabilities.slots
        )
        self._registered += 1
        self._new += new
        self._later()

    def admitted(self, info: GiverInfo, via: str) -> None:
        log.debug("giver %s (%s) admitted by %s", info.giver_id, info.name, via)
        self._admitted[via] += 1
        self._later()

    def waiting(self, info: GiverInfo, problem: str) -> None:
        """`info`'s Giver waits for an operator's approval, the first time it asks."""
        log.debug(
            "giver %s (%s) waits for approval%s",
            info.giver_id,
            info.name,
            f": its token was not accepted ({problem})" if problem else "",
        )
        self._waiting += 1
        self._later()

    def tell(self) -> None:
        """Log what arrived since the last line, if anything, and count anew."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        parts = []
        if self._registered:
            parts.append(f"{self._registered} registration(s), {self._new} of new Givers")
        parts += [f"{n} admitted by {via}" for via, n in sorted(self._admitted.items())]
        if self._waiting:
            parts.append(
                f"{self._waiting} new Giver(s) waiting for approval (`seeker approve GIVER`)"
            )
        if parts:
            log.info("givers in the last %.0f s: %s", self._period_s, "; ".join(parts))
        self._registered = self._new = self._waiting = 0
        self._admitted.clear()

    def _later(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._period_s, self.tell)
