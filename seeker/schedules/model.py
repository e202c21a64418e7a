"""Schedules: a job body that runs again at every tick of an interval or a cron
expression, and the record of what each tick did.

A tick is the instant a schedule is due (epoch seconds). The ticks of an
interval are its creation time plus whole multiples of `every_s`; those of a
cron expression are the times it matches after the schedule's creation. The
job of a tick has an id derived from the schedule and the tick, so however
often a tick is fired (a Seeker that stopped half-way, another that took
over) it makes one job.
"""

import math
import time
import uuid
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from seeker.errors import InvalidJob, InvalidSchedule
from seeker.schedules.cron import Cron, parse_cron
from seeker.work.sources import KEY_SOURCES
from seeker.work.spec import JobSpec, parse_job

MIN_EVERY_S = 60
MAX_EVERY_S = 366 * 86_400
DEFAULT_KEEP_RUNS = 50
MAX_KEEP_RUNS = 10_000
MAX_NAME_CHARS = 200
_FIELDS = {"name", "every_s", "cron", "timezone", "job", "overlap", "keep_runs", "paused"}
# The key sources a job body carries itself; a keys file is an upload, which a
# schedule cannot keep. Only used to say so when a schedule's job has no keys.


class Overlap(StrEnum):
    """What a tick does while the job of the schedule's previous tick still runs."""

    SKIP = "skip"
    ALLOW = "allow"


class RunOutcome(StrEnum):
    CREATED = "created"
    SKIPPED = "skipped"
    MISSED = "missed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Every:
    """Ticks at `anchor + k * every_s` for k = 1, 2, ..."""

    every_s: int
    anchor: float

    def next_after(self, t: float) -> float:
        k = max(1, math.floor((t - self.anchor) / self.every_s) + 1)
        return self.anchor + k * self.every_s


Timing = Every | Cron


@dataclass(frozen=True, slots=True)
class Due:
    """What a schedule owes at some moment: the latest tick passed (`tick`), and the
    earlier ones no Seeker fired in time (`missed` of them, `first_missed` to
    `last_missed`)."""

    tick: float
    missed: int = 0
    first_missed: float = 0.0
    last_missed: float = 0.0


@dataclass(frozen=True, slots=True)
class Schedule:
    """A schedule as stored. `firing` is the tick being fired (written before the
    tick's job is made, cleared once the schedule has moved past it), so a
    Seeker that stops half-way leaves the next one the same tick to finish."""

    schedule_id: str
    name: str
    job: dict[str, Any]
    timing: Timing
    created_at: float
    next_at: float
    overlap: Overlap = Overlap.SKIP
    keep_runs: int = DEFAULT_KEEP_RUNS
    paused: bool = False
    last_job_id: str | None = None
    firing: Due | None = None
    version: int = 0

    @staticmethod
    def new_id() -> str:
        return "sc" + uuid.uuid4().hex[:12]

    def job_id_for(self, tick: float) -> str:
        """The id of the job a tick makes: the schedule and the tick in UTC."""
        return f"{self.schedule_id}-{stamp(tick)}"

    def due(self, now: float) -> Due | None:
        """The tick to fire at `now`, with the ones missed before it; None if none is
        due (or the schedule is paused). A cron schedule long without a leader may
        walk many ticks: call it off the event loop."""
        if self.firing is not None:
            return self.firing
        if self.paused or self.next_at > now:
            return None
        if isinstance(self.timing, Every):
            passed = math.floor((now - self.next_at) / self.timing.every_s)
            latest = self.next_at + passed * self.timing.every_s
            return Due(latest, passed, self.next_at, latest - self.timing.every_s)
        missed, previous, latest = 0, 0.0, self.next_at
        while (following := self.timing.next_after(latest)) <= now:
            missed, previous, latest = missed + 1, latest, following
        return Due(latest, missed, self.next_at, previous)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schedule_id": self.schedule_id,
            "name": self.name,
            "job": self.job,
            "created_at": self.created_at,
            "next_at": self.next_at,
            "overlap": self.overlap.value,
            "keep_runs": self.keep_runs,
            "paused": self.paused,
            "last_job_id": self.last_job_id,
            "firing": None if self.firing is None else asdict(self.firing),
            "version": self.version,
        }
        if isinstance(self.timing, Every):
            doc["every_s"] = self.timing.every_s
        else:
            doc["cron"], doc["timezone"] = self.timing.expression, self.timing.timezone
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Schedule":
        firing = doc["firing"]
        return cls(
            schedule_id=doc["schedule_id"],
            name=doc["name"],
            job=doc["job"],
            timing=_timing(doc, doc["created_at"]),
            created_at=doc["created_at"],
            next_at=doc["next_at"],
            overlap=Overlap(doc["overlap"]),
            keep_runs=doc["keep_runs"],
            paused=doc["paused"],
            last_job_id=doc["last_job_id"],
            firing=None if firing is None else Due(**firing),
            version=doc["version"],
        )

    def view(self) -> dict[str, Any]:
        """The schedule as the API shows it."""
        doc = self.to_doc()
        del doc["version"], doc["firing"]
        return doc

    def bumped(self, **changes: Any) -> "Schedule":
        """This schedule with `changes`, one version on (to replace the stored one)."""
        return replace(self, **changes, version=self.version + 1)


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    """What one tick did (or, for `missed`, what a run of ticks did not do: `tick`
    is the first of them). Stored one per schedule and tick."""

    schedule_id: str
    tick: float
    outcome: RunOutcome
    reason: str
    at: float
    job_id: str | None = None

    @property
    def run_id(self) -> str:
        return f"{self.schedule_id}-{stamp(self.tick)}"

    def to_doc(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "schedule_id": self.schedule_id,
            "tick": self.tick,
            "job_id": self.job_id,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "at": self.at,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "ScheduleRun":
        return cls(
            schedule_id=doc["schedule_id"],
            tick=doc["tick"],
            outcome=RunOutcome(doc["outcome"]),
            reason=doc["reason"],
            at=doc["at"],
            job_id=doc["job_id"],
        )


def stamp(t: float) -> str:
    """An instant as it shows in ids: UTC, to the second (`20250101T030000Z`)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def parse_schedule(body: Any, now: float, *, resolved_job: Any = None) -> Schedule:
    """Validate a new schedule (its job too, as `resolved_job` when the catalog
    resolved it) made at `now`; InvalidSchedule naming the field, else the
    Schedule, not yet stored."""
    if not isinstance(body, dict):
        raise InvalidSchedule("a schedule must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidSchedule(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidSchedule(
            f"name is required: a string of 1 to {MAX_NAME_CHARS} characters", field="name"
        )
    job = body.get("job")
    schedule_job_spec(job if resolved_job is None else resolved_job)
    # Checked as a job body above (the catalog resolves an object to an object).
    assert isinstance(job, dict)
    created_at = float(math.floor(now))
    timing = _timing(body, created_at)
    overlap = body.get("overlap", Overlap.SKIP.value)
    if overlap not in tuple(Overlap):
        raise InvalidSchedule('overlap must be "skip" or "allow"', field="overlap")
    keep_runs = body.get("keep_runs", DEFAULT_KEEP_RUNS)
    if not _is_int(keep_runs) or not 1 <= keep_runs <= MAX_KEEP_RUNS:
        raise InvalidSchedule(
            f"keep_runs must be a whole number from 1 to {MAX_KEEP_RUNS}", field="keep_runs"
        )
    paused = body.get("paused", False)
    if not isinstance(paused, bool):
        raise InvalidSchedule("paused must be true or false", field="paused")
    return Schedule(
        schedule_id=Schedule.new_id(),
        name=name.strip(),
        job=job,
        timing=timing,
        created_at=created_at,
        next_at=timing.next_after(created_at),
        overlap=Overlap(overlap),
        keep_runs=keep_runs,
        paused=paused,
    )


def schedule_job_spec(job: Any) -> JobSpec:
    """A schedule's job body as a JobSpec; InvalidSchedule naming `job.FIELD` if the
    body is not a job this Seeker takes."""
    if not isinstance(job, dict):
        raise InvalidSchedule("job is required: the JSON body POST /api/v1/jobs takes", field="job")
    try:
        return parse_job(job)
    except InvalidJob as e:
        if e.field == "keys" and not any(name in job for name in KEY_SOURCES):
            raise InvalidSchedule(
                "job: no keys: a schedule's job names its keys in its body (keys, range, "
                "ranges, from_job or from_dataset); a keys file cannot be kept for a schedule",
                field="job.keys",
            ) from e
        raise InvalidSchedule(f"job: {e}", field=f"job.{e.field}" if e.field else "job") from e


def _timing(body: dict[str, Any], created_at: float) -> Timing:
    """`every_s`, or `cron` with an optional `timezone` (default UTC): exactly one."""
    if ("every_s" in body) == ("cron" in body):
        raise InvalidSchedule(
            "give every_s (seconds between ticks) or cron (five fields), exactly one",
            field="cron" if "every_s" in body else "every_s",
        )
    if "cron" in body:
        return parse_cron(body["cron"], body.get("timezone", "UTC"))
    if "timezone" in body:
        raise InvalidSchedule("timezone goes with cron, not with every_s", field="timezone")
    every_s = body["every_s"]
    if isinstance(every_s, float) and every_s.is_integer():
        every_s = int(every_s)
    if not _is_int(every_s) or not MIN_EVERY_S <= every_s <= MAX_EVERY_S:
        raise InvalidSchedule(
            f"every_s must be a whole number of seconds from {MIN_EVERY_S} to {MAX_EVERY_S}",
            field="every_s",
        )
    return Every(every_s, created_at)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
