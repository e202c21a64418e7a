"""The Giver's settings: one frozen object, built by the CLI."""

import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from giver.errors import ConfigError

IDENTITY_FILE = "identity.key"


@dataclass(frozen=True, slots=True)
class GiverConfig:
    """Everything a Giver daemon needs to know before it starts."""

    seeker_url: str
    data_dir: Path
    name: str = field(default_factory=socket.gethostname)
    slots: int = 2
    progress_interval_s: float = 1.0
    reconnect_max_s: float = 30.0
    outbox_retry_max_s: float = 30.0

    def __post_init__(self) -> None:
        url = urlsplit(self.seeker_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(
                "seeker_url", f"expected http(s)://HOST[:PORT], got {self.seeker_url!r}"
            )
        if not self.name:
            raise ConfigError("name", "must not be empty")
        if self.slots < 1:
            raise ConfigError("slots", f"must be at least 1, got {self.slots}")
        for name in ("progress_interval_s", "reconnect_max_s", "outbox_retry_max_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, f"must be positive, got {getattr(self, name)}")

    @property
    def identity_path(self) -> Path:
        return self.data_dir / IDENTITY_FILE

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"
