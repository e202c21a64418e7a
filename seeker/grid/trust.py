"""What the Seeker has learnt of each Giver: reliability, speed, trust, flags.

A Giver's *reliability* is a moving average of its tasks' outcomes (a
result that counted is a success; a crash, a lapsed lease or an
invalidation a failure), and its *speed* a moving average of seconds per
key. Its *trust* is kept per scraper image: the number of its results in a
row that agreed with the result chosen when copies were compared. A result
that disagreed resets that image's trust to zero, and `flag_after` rejected
results in a row (whatever the image) flag the Giver: it gets no more work
until an operator clears the flag.

Records are written to the state store in batches (`dirty`), so they
survive a restart; losing the last few updates in a crash costs a little
precision, never a result.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Weight of the newest outcome in the moving averages.
SMOOTHING = 0.2
# Where a Giver with no history starts: trusted enough to get work, but behind
# any Giver that has proven itself.
PRIOR_RELIABILITY = 0.8
DEFAULT_FLAG_AFTER = 3


@dataclass(slots=True)
class GiverRecord:
    giver_id: str
    reliability: float = PRIOR_RELIABILITY
    seconds_per_key: float | None = None
    tasks: int = 0
    trust: dict[str, int] = field(default_factory=dict)
    rejected_in_row: int = 0
    rejected: int = 0
    validated: int = 0
    flagged: str = ""
    flagged_at: float | None = None

    def trusted(self, image: str, trust_after: int) -> bool:
        return not self.flagged and self.trust.get(image, 0) >= trust_after

    def to_doc(self) -> dict[str, Any]:
        return {
            "giver_id": self.giver_id,
            "reliability": self.reliability,
            "seconds_per_key": self.seconds_per_key,
            "tasks": self.tasks,
            "trust": self.trust,
            "rejected_in_row": self.rejected_in_row,
            "rejected": self.rejected,
            "validated": self.validated,
            "flagged": self.flagged,
            "flagged_at": self.flagged_at,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "GiverRecord":
        return cls(**{name: doc[name] for name in cls.__slots__})


class TrustBook:
    """Every Giver's record, in memory, with the changed ones marked for writing."""

    def __init__(self, *, flag_after: int = DEFAULT_FLAG_AFTER) -> None:
        self.flag_after = flag_after
        self._records: dict[str, GiverRecord] = {}
        self.dirty: set[str] = set()

    def load(self, docs: list[dict[str, Any]]) -> None:
        self._records = {doc["giver_id"]: GiverRecord.from_doc(doc) for doc in docs}
        self.dirty.clear()

    def get(self, giver_id: str) -> GiverRecord:
        record = self._records.get(giver_id)
        if record is None:
            record = self._records[giver_id] = GiverRecord(giver_id)
        return record

    def peek(self, giver_id: str) -> GiverRecord | None:
        return self._records.get(giver_id)

    def records(self) -> list[GiverRecord]:
        return list(self._records.values())

    def _changed(self, record: GiverRecord) -> GiverRecord:
        self.dirty.add(record.giver_id)
        return record

    def succeeded(self, giver_id: str, seconds: float, keys: int) -> None:
        """A task's result counted, `keys` keys in `seconds`."""
        record = self._changed(self.get(giver_id))
        record.tasks += 1
        record.reliability += SMOOTHING * (1.0 - record.reliability)
        if keys > 0 and seconds >= 0:
            rate = seconds / keys
            old = record.seconds_per_key
            record.seconds_per_key = rate if old is None else old + SMOOTHING * (rate - old)

    def failed(self, giver_id: str) -> None:
        """A task crashed, lapsed or was invalidated."""
        record = self._changed(self.get(giver_id))
        record.tasks += 1
        record.reliability -= SMOOTHING * record.reliability

    def validated(self, giver_id: str, image: str) -> None:
        """The Giver's result agreed with the one chosen among compared copies."""
        record = self._changed(self.get(giver_id))
        record.trust[image] = record.trust.get(image, 0) + 1
        record.validated += 1
        record.rejected_in_row = 0

    def rejected(self, giver_id: str, images: Iterable[str], now: float) -> bool:
        """The Giver's result disagreed with the chosen one; whether that flagged it.
        Its trust with `images` (the image it ran, or those it may have run) resets."""
        record = self._changed(self.get(giver_id))
        for image in images:
            record.trust[image] = 0
        record.rejected += 1
        record.rejected_in_row += 1
        if not record.flagged and record.rejected_in_row >= self.flag_after:
            record.flagged = (
                f"{record.rejected_in_row} results in a row disagreed with the chosen result"
            )
            record.flagged_at = now
            return True
        return False

    def distrust(self, giver_id: str) -> None:
        """An operator discarded the Giver's work: it earns its trust again."""
        self._changed(self.get(giver_id)).trust.clear()

    def unflag(self, giver_id: str) -> bool:
        """An operator clears the flag; whether there was one."""
        record = self._records.get(giver_id)
        if record is None or not record.flagged:
            return False
        record.flagged, record.flagged_at, record.rejected_in_row = "", None, 0
        self._changed(record)
        return True

    def take_dirty(self) -> list[dict[str, Any]]:
        """The changed records' documents, to write; they count as written."""
        docs = [self._records[g].to_doc() for g in sorted(self.dirty)]
        self.dirty.clear()
        return docs
