"""The per-run rate limit of fetches: a minimum interval between request starts."""

import time
from collections.abc import Callable


class RateLimiter:
    """Spaces request starts at least ``1 / rate_per_s`` seconds apart (0 = no limit).

    ``clock`` and ``sleep`` are time.monotonic and time.sleep except in tests.
    """

    def __init__(
        self,
        rate_per_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval_s = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_start_s: float | None = None

    def wait(self) -> None:
        """Return when the next request may start, and count it as started."""
        if not self._interval_s:
            return
        now_s = self._clock()
        if self._next_start_s is not None and now_s < self._next_start_s:
            self._sleep(self._next_start_s - now_s)
            now_s = max(self._clock(), self._next_start_s)
        self._next_start_s = now_s + self._interval_s
