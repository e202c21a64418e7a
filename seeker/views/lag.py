"""How late the Seeker's event loop runs, as `/metrics` reports it.

A probe sleeps a short interval over and over and notes how much later than
asked it woke: whatever held the loop meanwhile (a long round, a big JSON body,
a blocking call) shows as lag. The figure kept is the 99th percentile over the
most recent samples, so one slow moment fades out of it after a minute or so.
"""

import asyncio
import math
from collections import deque

# A sample every 100 ms, the last 600 kept: a window of about a minute.
PROBE_INTERVAL_S = 0.1
WINDOW_SAMPLES = 600


class LoopLag:
    """The recent lags of the loop `run()` probes, in seconds."""

    def __init__(
        self, *, interval_s: float = PROBE_INTERVAL_S, window: int = WINDOW_SAMPLES
    ) -> None:
        self.interval_s = interval_s
        self._samples: deque[float] = deque(maxlen=window)

    def record(self, lag_s: float) -> None:
        """One sample: how much later than asked the probe woke (never below 0)."""
        self._samples.append(max(lag_s, 0.0))

    def p99_s(self) -> float:
        """The 99th percentile of the recent samples (nearest rank); 0 before any."""
        if not self._samples:
            return 0.0
        ordered = sorted(self._samples)
        return ordered[math.ceil(0.99 * len(ordered)) - 1]

    async def run(self) -> None:
        """Probe the running loop until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(self.interval_s)
            self.record(loop.time() - asked - self.interval_s)
