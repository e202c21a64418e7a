"""How often a client may fail to log in: a few failures a minute from one
address, then it waits; memory is bounded by forgetting the quietest addresses."""

from collections import OrderedDict
from dataclasses import dataclass, field

from seeker.errors import LoginRefused

MAX_FAILURES = 5
WINDOW_S = 60.0
MAX_CLIENTS = 10_000


@dataclass(slots=True)
class _Failures:
    times: list[float] = field(default_factory=list)


class LoginLimiter:
    """At most `max_failures` failed logins per client address in `window_s`."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self.max_failures, self.window_s = max_failures, window_s
        self._clients: OrderedDict[str, _Failures] = OrderedDict()

    def _recent(self, client: str, now: float) -> list[float]:
        failures = self._clients.get(client)
        if failures is None:
            return []
        failures.times = [t for t in failures.times if now - t < self.window_s]
        return failures.times

    def check(self, client: str, now: float) -> None:
        """LoginRefused (with how long to wait) if `client` failed too often lately."""
        recent = self._recent(client, now)
        if len(recent) >= self.max_failures:
            wait_s = recent[0] + self.window_s - now
            raise LoginRefused(
                f"too many failed logins; try again in {wait_s:.0f} s", retry_after_s=wait_s
            )

    def failed(self, client: str, now: float) -> float:
        """Count a failure; how long `client` must wait now (0: it may try again)."""
        failures = self._clients.pop(client, None) or _Failures()
        failures.times.append(now)
        self._clients[client] = failures
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)
        recent = self._recent(client, now)
        return recent[0] + self.window_s - now if len(recent) >= self.max_failures else 0.0

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)
