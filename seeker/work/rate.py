"""Keys counted over a sliding window of time: pure logic, the clock injected.

A job's rate is the keys that finished in the last minute over the time that
minute covers; its recent failures are the keys that failed in the last hour.
Counts go into buckets of `bucket_s` seconds, at most one bucket more than
the window holds, so memory stays bounded however fast keys finish; the
window's start moves a bucket at a time.
"""

import math
import time
from collections import deque
from collections.abc import Callable


class SlidingCount:
    """How many were added within the last `window_s` seconds (by `clock`, in
    seconds), and how many a second that makes."""

    def __init__(
        self, window_s: float, bucket_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not 0 < bucket_s <= window_s:
            raise ValueError(f"bucket_s must be above 0 and at most window_s, got {bucket_s}")
        self._bucket_s = bucket_s
        self._slots = math.ceil(window_s / bucket_s)
        self._clock = clock
        self._started_s = clock()
        # (bucket index, count), oldest first.
        self._buckets: deque[tuple[int, int]] = deque()

    def add(self, n: int, at: float | None = None) -> None:
        """Count `n` at time `at` (by `clock`; default now); nothing if `n` is not
        above 0 or `at` is outside the window."""
        now = int(self._clock() // self._bucket_s)
        index = now if at is None else int(at // self._bucket_s)
        if n <= 0 or index <= now - self._slots:
            return
        if not self._buckets or self._buckets[-1][0] <= index:
            if self._buckets and self._buckets[-1][0] == index:
                n += self._buckets.pop()[1]
            self._buckets.append((index, n))
        else:  # an earlier time: counted again after a restart, say
            n += sum(count for i, count in self._buckets if i == index)
            others = [b for b in self._buckets if b[0] != index]
            self._buckets = deque(sorted([*others, (index, n)]))
        self._trim(now)

    def recent(self) -> list[tuple[float, int]]:
        """What was added within the window: (when its bucket began, count), oldest
        first; `add` each to count them again."""
        self._trim(int(self._clock() // self._bucket_s))
        return [(index * self._bucket_s, n) for index, n in self._buckets]

    def count(self) -> int:
        """How many were added within the window."""
        self._trim(int(self._clock() // self._bucket_s))
        return sum(n for _, n in self._buckets)

    def per_s(self) -> float:
        """The count within the window over the seconds it covers: since the
        window's first bucket began, or since counting began if that is later
        (at least one bucket, so a burst just after the start is not taken for a
        rate kept up)."""
        now_s = self._clock()
        first = int(now_s // self._bucket_s) - self._slots + 1
        span_s = now_s - max(self._started_s, first * self._bucket_s)
        return self.count() / max(span_s, self._bucket_s)

    def _trim(self, index: int) -> None:
        while self._buckets and self._buckets[0][0] <= index - self._slots:
            self._buckets.popleft()
