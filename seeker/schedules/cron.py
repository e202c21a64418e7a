"""Cron expressions: the standard five fields, and the next time one matches.

`minute hour day-of-month month day-of-week`, each `*`, a value, a range
`a-b`, a step `*/s`, `a-b/s` or `a/s` (from `a` to the field's end), or a
comma-separated list of those. Months and days of the week may be given by
their English three-letter names (`jan`, `mon`), in any case; Sunday is 0 or 7.
`@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`) and
`@hourly` stand for their usual expressions.

As in Vixie cron, when both day fields are restricted (neither starts with
`*`), a day matches if either matches; otherwise both must.

Times are wall-clock times in the expression's IANA time zone. Where a clock
change skips a local time (spring forward), that time does not happen and is
skipped; where a change repeats it (fall back), it fires once, at its first
occurrence.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seeker.errors import InvalidSchedule

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Days in each month at most (February in a leap year), to refuse dates that never come.
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    # Where the first name stands (months count from 1, days of the week from 0).
    names_from: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, MONTH_NAMES, 1),
    # 7 is Sunday too; it is folded into 0 once parsed.
    _Field("day of week", 0, 7, WEEKDAY_NAMES, 0),
)


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression in a time zone; `next_after` finds its ticks."""

    expression: str
    timezone: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    # 0 is Sunday, as in cron (Python's weekday() counts from Monday).
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool
    zone: ZoneInfo

    def next_after(self, t: float) -> float:
        """The first instant strictly after `t` (epoch seconds) that the expression
        matches, in epoch seconds (always a whole minute)."""
        local = datetime.fromtimestamp(t, self.zone).replace(second=0, microsecond=0)
        candidate = local.replace(tzinfo=None)
        while True:
            candidate = self._match_from(candidate)
            instant = candidate.replace(tzinfo=self.zone, fold=0)
            # A local time a clock change skips comes back as another wall time.
            exists = instant.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None)
            if exists == candidate and instant.timestamp() > t:
                return instant.timestamp()
            candidate += _MINUTE

    def _match_from(self, at: datetime) -> datetime:
        """The first naive wall time at or after `at` that the fields match."""
        while True:
            if at.month not in self.months:
                year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
                at = datetime(year, month, 1)
                continue
            if not self._day_matches(at):
                at = datetime(at.year, at.month, at.day) + timedelta(days=1)
                continue
            hour = next((h for h in self.hours if h >= at.hour), None)
            if hour is None:
                at = datetime(at.year, at.month, at.day) + timedelta(days=1)
                continue
            if hour > at.hour:
                at = at.replace(hour=hour, minute=0)
            minute = next((m for m in self.minutes if m >= at.minute), None)
            if minute is None:
                at = at.replace(minute=0) + timedelta(hours=1)
                continue
            return at.replace(minute=minute)

    def _day_matches(self, at: datetime) -> bool:
        by_day = at.day in self.days
        by_weekday = (at.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday


def parse_cron(expression: str, timezone: str = "UTC") -> Cron:
    """Parse `expression` for the IANA zone `timezone`; InvalidSchedule naming the
    part that is wrong."""
    if not isinstance(expression, str):
        raise InvalidSchedule("cron must be a string of five fields", field="cron")
    zone = zone_named(timezone)
    text = expression.strip()
    parts = MACROS.get(text.lower(), text).split()
    if len(parts) != len(_FIELDS):
        raise InvalidSchedule(
            f"cron {expression!r} has {len(parts)} field(s); it needs five: "
            "minute hour day-of-month month day-of-week (e.g. '0 3 * * *')",
            field="cron",
        )
    values = [
        _parse_field(part, spec, expression) for part, spec in zip(parts, _FIELDS, strict=True)
    ]
    minutes, hours, days, months, weekdays = values
    cron = Cron(
        expression=text,
        timezone=timezone,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(d % 7 for d in weekdays),
        days_restricted=not parts[2].startswith("*"),
        weekdays_restricted=not parts[4].startswith("*"),
        zone=zone,
    )
    if not (cron.days_restricted and cron.weekdays_restricted) and not any(
        day <= _LONGEST_MONTH[month - 1] for day in cron.days for month in cron.months
    ):
        raise InvalidSchedule(
            f"cron {expression!r} never matches: no month it names has the days it names",
            field="cron",
        )
    return cron


def zone_named(timezone: str) -> ZoneInfo:
    """The IANA time zone `timezone` (such as Europe/Paris), or InvalidSchedule."""
    try:
        if not isinstance(timezone, str) or not timezone:
            raise ValueError
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(
            f"timezone {timezone!r} is not an IANA time zone name such as UTC or Europe/Paris",
            field="timezone",
        ) from None


def _parse_field(text: str, spec: _Field, expression: str) -> set[int]:
    found: set[int] = set()
    for item in text.split(","):
        found |= _parse_item(item, spec, expression)
    return found


def _parse_item(item: str, spec: _Field, expression: str) -> set[int]:
    where = f"cron {expression!r}, {spec.name} field"
    span, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise InvalidSchedule(
                f"{where}: step {step_text!r} is not a whole number above 0", field="cron"
            )
        step = int(step_text)
    if span == "*":
        low, high = spec.low, spec.high
    else:
        first, dash, last = span.partition("-")
        low = _value(first, spec, where)
        high = _value(last, spec, where) if dash else (spec.high if slash else low)
        if low > high:
            raise InvalidSchedule(
                f"{where}: range {span!r} runs backwards (write it as two ranges)", field="cron"
            )
    return set(range(low, high + 1, step))


def _value(text: str, spec: _Field, where: str) -> int:
    lowered = text.lower()
    if lowered in spec.names:
        return spec.names.index(lowered) + spec.names_from
    if text.isdigit() and spec.low <= int(text) <= spec.high:
        return int(text)
    names = f" or a name ({', '.join(spec.names)})" if spec.names else ""
    raise InvalidSchedule(
        f"{where}: {text!r} is not a value from {spec.low} to {spec.high}{names}", field="cron"
    )
