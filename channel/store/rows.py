"""What the Channel keeps of a job and of a result, as its backends store them and
its readers page through them."""

from dataclasses import dataclass
from typing import Any

from channel.wire import canonical


@dataclass(frozen=True, slots=True)
class JobPolicy:
    """What the Channel knows of a job: how long to keep its results, and whether
    its records must arrive sealed to a recipient."""

    job_id: str
    retention_s: float | None = None
    sealed: bool = False


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A result as a backend keeps it: indexed fields, the signed header and its
    records, compressed inline when small or in chunks stored beside it."""

    result_id: str
    task_id: str
    job_id: str
    giver_id: str
    received_at: float
    expires_at: float | None
    header: bytes
    records: int
    size_bytes: int
    inline: bytes | None
    seq: int = 0

    def to_wire(self) -> dict[str, Any]:
        """The result as a page lists it: its signed header and its records' size."""
        return {
            **canonical.loads(self.header),
            "seq": self.seq,
            "received_at": self.received_at,
            "expires_at": self.expires_at,
            "records": self.records,
            "size_bytes": self.size_bytes,
        }


@dataclass(frozen=True, slots=True)
class ResultPage:
    """Results of a job in the order they were stored; `cursor` continues after them."""

    results: list[StoredResult]
    cursor: int
