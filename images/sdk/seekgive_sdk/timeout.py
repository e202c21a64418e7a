"""The per-key timeout: a SIGALRM interval timer that interrupts the main thread."""

import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from .errors import KeyTimeout

T = TypeVar("T")


class KeyTimer:
    """Runs one key at a time with a deadline ``timeout_s`` seconds after it starts.

    When the deadline passes, SIGALRM raises KeyTimeout wherever the main
    thread is, blocking calls included. A scraper that catches it anyway and
    returns still fails with it. Must be used from the main thread.
    """

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._deadline_s: float | None = None
        self._armed = False
        self._fired = False

    def call(self, function: Callable[[], T]) -> T:
        """Return ``function()``; raise KeyTimeout if it ran past the timeout."""
        self._fired = False
        previous = signal.signal(signal.SIGALRM, self._on_alarm)
        self._deadline_s = self._clock() + self.timeout_s
        try:
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
            try:
                result = function()
            finally:
                self._armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            # None: the previous handler was not set from Python; the default is closest.
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
            self._deadline_s = None
        if self._fired:
            raise KeyTimeout(self.timeout_s)
        return result

    def time_left_s(self) -> float | None:
        """Seconds until the current key's deadline (>= 0), None outside a key."""
        if self._deadline_s is None:
            return None
        return max(0.0, self._deadline_s - self._clock())

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            self._fired = True
            raise KeyTimeout(self.timeout_s)
