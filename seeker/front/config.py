"""The front's settings, built once by the CLI (or a test) and never changed."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from seeker.errors import ConfigError


@dataclass(frozen=True, slots=True)
class FrontConfig:
    """How a front runs: it listens on `host`:`port` and forwards to whichever of
    `upstreams` (the Seekers' base URLs, in order of preference) leads, asking
    each every `check_interval_s`."""

    upstreams: tuple[str, ...]
    host: str = "127.0.0.1"
    port: int = 8765
    check_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.upstreams:
            raise ConfigError("upstreams", "name at least one Seeker URL to forward to")
        for url in self.upstreams:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError("upstreams", f"{url!r} is not an http:// or https:// URL")
            if parts.path.strip("/") or parts.query:
                raise ConfigError(
                    "upstreams", f"{url!r}: give a Seeker's base URL, without a path or query"
                )
        if len(set(self.upstreams)) != len(self.upstreams):
            raise ConfigError("upstreams", "a Seeker URL is given twice")
        if self.check_interval_s <= 0:
            raise ConfigError("check_interval_s", f"must be positive, got {self.check_interval_s}")
