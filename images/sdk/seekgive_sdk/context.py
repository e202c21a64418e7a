"""What a scraper gets for each key: the key, the settings, fetching, captures, discovery."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import KeyFailed
from .fetch import fetch_text
from .ratelimit import RateLimiter
from .timeout import KeyTimer

S = TypeVar("S")

MAX_FOUND_PER_KEY = 1000
MAX_FOUND_KEY_BYTES = 2048
MIN_FETCH_TIMEOUT_S = 0.001


@dataclass(frozen=True)
class Capture:
    """The raw page a key's records were parsed from, kept for debugging."""

    media_type: str
    text: str


class Context(Generic[S]):
    """The current key, the run's settings and the SDK's services for one key.

    Fetches wait for the run's rate limit and time out no later than the key's
    deadline. ``capture`` and ``discover`` keep their input only when the job
    asked for captures (``capturing``) or discovered keys (``discovering``).
    """

    def __init__(
        self,
        key: str,
        settings: S,
        *,
        capturing: bool,
        discovering: bool,
        limiter: RateLimiter,
        timer: KeyTimer,
    ) -> None:
        self.key = key
        self.settings = settings
        self.capturing = capturing
        self.discovering = discovering
        self._limiter = limiter
        self._timer = timer
        self._capture: Capture | None = None
        self._found: dict[str, None] = {}

    def fetch_text(self, url: str, *, timeout_s: float | None = None) -> str:
        """GET ``url`` and return its text; failures raise KeyFailed (see fetch.fetch_text).

        ``timeout_s`` bounds each network step; it is cut to the time the key has left.
        """
        self._limiter.wait()
        return fetch_text(url, timeout_s=self._fetch_timeout_s(timeout_s))

    def fetch_json(self, url: str, *, timeout_s: float | None = None) -> Any:
        """GET ``url`` and decode its JSON body; a body that is not JSON raises KeyFailed."""
        self._limiter.wait()
        text = fetch_text(
            url, timeout_s=self._fetch_timeout_s(timeout_s), accept="application/json"
        )
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise KeyFailed(f"invalid JSON from {url}: {e}") from e

    def capture(self, text: str, media_type: str = "text/html") -> None:
        """Attach ``text`` to the key's first record; a later capture replaces an earlier one."""
        if not isinstance(text, str) or not isinstance(media_type, str) or not media_type:
            raise TypeError("capture takes a str text and a non-empty str media_type")
        if self.capturing:
            self._capture = Capture(media_type, text)

    def discover(self, keys: Iterable[str]) -> None:
        """Offer new keys to the job (duplicates are dropped).

        Each key must be a non-empty str of at most 2048 UTF-8 bytes, and a key
        may discover at most 1000 keys; otherwise ValueError (which fails the key).
        """
        if isinstance(keys, str):
            raise TypeError("discover takes an iterable of keys, not one str")
        found = dict(self._found)
        for key in keys:
            if not isinstance(key, str) or not key:
                raise ValueError(f"a discovered key must be a non-empty str, not {key!r}")
            if len(key.encode("utf-8")) > MAX_FOUND_KEY_BYTES:
                raise ValueError(
                    f"a discovered key must be at most {MAX_FOUND_KEY_BYTES} UTF-8 bytes: "
                    f"{key[:40]!r}..."
                )
            found[key] = None
        if len(found) > MAX_FOUND_PER_KEY:
            raise ValueError(f"a key may discover at most {MAX_FOUND_PER_KEY} keys")
        self._found = found

    @property
    def captured(self) -> Capture | None:
        """The key's capture, if the job keeps captures and the scraper made one."""
        return self._capture

    @property
    def found(self) -> list[str]:
        """The keys discovered so far, in order, if the job takes them; else empty."""
        return list(self._found) if self.discovering else []

    def _fetch_timeout_s(self, timeout_s: float | None) -> float:
        bounds = [t for t in (timeout_s, self._timer.time_left_s()) if t is not None]
        return max(min(bounds, default=self._timer.timeout_s), MIN_FETCH_TIMEOUT_S)
