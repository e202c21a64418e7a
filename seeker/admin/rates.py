"""How fast jobs settle their keys: each job's count of settled keys (done or
failed), sampled over a sliding window, gives its rate in keys a second and the
time its remaining keys will take at that rate."""

from collections import deque

WINDOW_S = 30.0
# A rate over less than this is noise.
MIN_SPAN_S = 2.0


class RateMeter:
    """Samples of each job's settled keys over the last WINDOW_S seconds."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self._window_s = window_s
        self._samples: dict[str, deque[tuple[float, int]]] = {}

    def sample(self, now: float, settled: dict[str, int]) -> None:
        """Note each job's settled keys at `now`; jobs gone are forgotten."""
        for job_id in set(self._samples) - set(settled):
            del self._samples[job_id]
        for job_id, keys in settled.items():
            samples = self._samples.setdefault(job_id, deque())
            samples.append((now, keys))
            while len(samples) > 2 and samples[1][0] <= now - self._window_s:
                samples.popleft()

    def rate(self, job_id: str) -> float | None:
        """Keys a second over the window; None until it spans MIN_SPAN_S."""
        samples = self._samples.get(job_id)
        if not samples:
            return None
        (t0, k0), (t1, k1) = samples[0], samples[-1]
        if t1 - t0 < MIN_SPAN_S:
            return None
        return max(0, k1 - k0) / (t1 - t0)

    def eta_s(self, job_id: str, left: int) -> float | None:
        """Seconds until `left` keys settle at the job's rate; None while unknown."""
        if left == 0:
            return 0.0
        rate = self.rate(job_id)
        return left / rate if rate else None
