"""What a scraper needs from the machine that runs it (the ``seekgive.resources`` label)."""

from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Resources:
    """A scraper's needs: network access, memory, CPUs and the wall-clock time of a task.

    They are the defaults of the limits of a job that runs the scraper.
    """

    network: bool = False
    memory_mib: int = 512
    cpus: float = 1.0
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if type(self.network) is not bool:
            raise TypeError(f"Resources.network must be a bool, not {self.network!r}")
        if type(self.memory_mib) is not int or self.memory_mib <= 0:
            raise ValueError(f"Resources.memory_mib must be an int > 0, not {self.memory_mib!r}")
        for name in ("cpus", "timeout_s"):
            value = getattr(self, name)
            if type(value) not in (int, float) or not value > 0:
                raise ValueError(f"Resources.{name} must be a number > 0, not {value!r}")

    def to_label(self) -> dict[str, Any]:
        """The value of the ``seekgive.resources`` label, before JSON encoding."""
        return {
            "memory_bytes": self.memory_mib * MIB,
            "cpus": float(self.cpus),
            "timeout_s": float(self.timeout_s),
            "network": self.network,
        }
