"""Cron expressions: parsing the five fields, refusing what is malformed or never
matches, and the next tick, also across clock changes (checked against a
brute-force walk over every minute)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seeker.errors import InvalidSchedule
from seeker.schedules.cron import parse_cron

pytestmark = pytest.mark.unit

PARIS = ZoneInfo("Europe/Paris")


def at(*fields: int, zone: ZoneInfo | None = None) -> float:
    """Epoch seconds of a wall time (UTC unless `zone`; the first of a repeated hour)."""
    return datetime(*fields, tzinfo=zone or UTC).timestamp()


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def ticks(expression: str, start: float, count: int, timezone: str = "UTC") -> list[datetime]:
    cron = parse_cron(expression, timezone)
    found, t = [], start
    for _ in range(count):
        t = cron.next_after(t)
        found.append(utc(t))
    return found


def test_fields_take_values_ranges_steps_lists_and_names() -> None:
    cron = parse_cron("5,10-20/5,*/25 */6 1-3,15 jan,JUL-sep mon-wed,7")
    assert cron.minutes == (0, 5, 10, 15, 20, 25, 50)
    assert cron.hours == (0, 6, 12, 18)
    assert cron.days == {1, 2, 3, 15}
    assert cron.months == {1, 7, 8, 9}
    assert cron.weekdays == {0, 1, 2, 3}
    assert cron.days_restricted and cron.weekdays_restricted
    assert parse_cron("30/10 * * * *").minutes == (30, 40, 50)
    assert parse_cron("* * * * 5-7").weekdays == {0, 5, 6}
    star = parse_cron("* * */2 * *")
    assert not star.days_restricted and not star.weekdays_restricted


@pytest.mark.parametrize(
    ("macro", "expression"),
    [("@daily", "0 0 * * *"), ("@HOURLY", "0 * * * *"), ("@weekly", "0 0 * * 0")],
)
def test_macros_stand_for_their_expressions(macro: str, expression: str) -> None:
    start = at(2024, 5, 17, 10, 7)
    assert ticks(macro, start, 3) == ticks(expression, start, 3)


@pytest.mark.parametrize(
    ("expression", "timezone", "field", "message"),
    [
        ("0 3 * *", "UTC", "cron", "has 4 field(s); it needs five"),
        ("60 * * * *", "UTC", "cron", "minute field: '60' is not a value from 0 to 59"),
        ("* * * foo *", "UTC", "cron", "month field: 'foo' is not a value from 1 to 12 or a name"),
        ("* * * * 8", "UTC", "cron", "day of week field: '8' is not a value from 0 to 7"),
        ("* 5-2 * * *", "UTC", "cron", "hour field: range '5-2' runs backwards"),
        ("*/0 * * * *", "UTC", "cron", "minute field: step '0' is not a whole number above 0"),
        ("1,,2 * * * *", "UTC", "cron", "minute field: '' is not a value"),
        ("0 0 30 2 *", "UTC", "cron", "never matches"),
        ("0 0 31 4,6,9,11 *", "UTC", "cron", "never matches"),
        ("0 3 * * *", "Mars/Olympus", "timezone", "is not an IANA time zone name"),
        ("0 3 * * *", "", "timezone", "is not an IANA time zone name"),
    ],
)
def test_bad_expressions_are_refused_naming_the_part(
    expression: str, timezone: str, field: str, message: str
) -> None:
    with pytest.raises(InvalidSchedule) as raised:
        parse_cron(expression, timezone)
    assert raised.value.field == field
    assert message in str(raised.value)


def test_the_next_tick_is_strictly_after_and_on_the_minute() -> None:
    cron = parse_cron("0 3 * * *")
    assert utc(cron.next_after(at(2024, 5, 17, 2, 59, 59) + 0.5)) == datetime(
        2024, 5, 17, 3, 0, tzinfo=UTC
    )
    assert utc(cron.next_after(at(2024, 5, 17, 3, 0))) == datetime(2024, 5, 18, 3, 0, tzinfo=UTC)
    assert ticks("*/20 * * * *", at(2024, 12, 31, 23, 30, 10), 3) == [
        datetime(2024, 12, 31, 23, 40, tzinfo=UTC),
        datetime(2025, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2025, 1, 1, 0, 20, tzinfo=UTC),
    ]


def test_with_both_day_fields_restricted_either_matches() -> None:
    # The 13th of any month, and every Friday: May 2024 has Friday the 17th and 24th.
    assert [t.date() for t in ticks("0 0 13 * fri", at(2024, 5, 12), 4)] == [
        date(2024, 5, 13),
        date(2024, 5, 17),
        date(2024, 5, 24),
        date(2024, 5, 31),
    ]
    # A day field starting with * does not count as restricted: both must match.
    assert [t.date() for t in ticks("0 0 */2 * mon", at(2024, 5, 1), 2)] == [
        date(2024, 5, 13),
        date(2024, 5, 27),
    ]


def test_february_29th_comes_in_leap_years() -> None:
    assert ticks("0 12 29 feb *", at(2024, 3, 1), 2) == [
        datetime(2028, 2, 29, 12, tzinfo=UTC),
        datetime(2032, 2, 29, 12, tzinfo=UTC),
    ]


def test_a_local_time_the_clock_skips_does_not_happen() -> None:
    # Paris springs forward on 2024-03-31 at 02:00 to 03:00: no 02:30 that day.
    assert ticks("30 2 * * *", at(2024, 3, 29, 12), 3, "Europe/Paris") == [
        utc(at(2024, 3, 30, 2, 30, zone=PARIS)),
        utc(at(2024, 4, 1, 2, 30, zone=PARIS)),
        utc(at(2024, 4, 2, 2, 30, zone=PARIS)),
    ]
    assert ticks("0 * * * *", at(2024, 3, 30, 23, 30), 3, "Europe/Paris") == [
        datetime(2024, 3, 31, 0, 0, tzinfo=UTC),  # 01:00 CET
        datetime(2024, 3, 31, 1, 0, tzinfo=UTC),  # 03:00 CEST
        datetime(2024, 3, 31, 2, 0, tzinfo=UTC),  # 04:00 CEST
    ]


def test_a_local_time_the_clock_repeats_fires_once() -> None:
    # Paris falls back on 2024-10-27 at 03:00 to 02:00: 02:30 happens twice.
    assert ticks("30 2 * * *", at(2024, 10, 26, 12), 2, "Europe/Paris") == [
        datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first one
        datetime(2024, 10, 28, 1, 30, tzinfo=UTC),  # 02:30 CET the next day
    ]
    assert ticks(
        "*/30 * * * *", datetime(2024, 10, 26, 23, 50, tzinfo=UTC).timestamp(), 3, "Europe/Paris"
    ) == [
        datetime(2024, 10, 27, 0, 0, tzinfo=UTC),  # 02:00 CEST
        datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # 02:30 CEST
        datetime(2024, 10, 27, 2, 0, tzinfo=UTC),  # 03:00 CET: the repeated hour is not fired
    ]
    # Asked from inside the repeated hour, it does not fire the hour's times again.
    cron = parse_cron("45 2 * * *", "Europe/Paris")
    second_pass = datetime(2024, 10, 27, 1, 10, tzinfo=UTC).timestamp()  # 02:10 CET
    assert utc(cron.next_after(second_pass)) == datetime(2024, 10, 28, 1, 45, tzinfo=UTC)


def _day_matches(fields: tuple[set[int], ...], star: tuple[bool, bool], day: datetime) -> bool:
    """Whether a day matches, written apart from the parser's own search."""
    _, _, days, months, weekdays = fields
    by_day = day.day in days
    by_weekday = day.isoweekday() % 7 in weekdays
    day_ok = (by_day or by_weekday) if not any(star) else (by_day and by_weekday)
    return day.month in months and day_ok


def _text(values: set[int] | None) -> str:
    return "*" if values is None else ",".join(map(str, sorted(values)))


def _subset(low: int, high: int) -> st.SearchStrategy[set[int] | None]:
    return st.none() | st.sets(st.integers(low, high), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(
    minutes=st.sets(st.integers(0, 59), min_size=1, max_size=4),
    hours=_subset(0, 23),
    days=_subset(1, 28),
    months=_subset(1, 12),
    weekdays=_subset(0, 6),
    start=st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)),
)
def test_the_next_tick_in_utc_is_the_first_matching_minute(
    minutes: set[int],
    hours: set[int] | None,
    days: set[int] | None,
    months: set[int] | None,
    weekdays: set[int] | None,
    start: datetime,
) -> None:
    expression = " ".join(map(_text, (minutes, hours, days, months, weekdays)))
    fields = (
        minutes,
        hours or set(range(24)),
        days or set(range(1, 32)),
        months or set(range(1, 13)),
        weekdays if weekdays is not None else set(range(7)),
    )
    star = (days is None, weekdays is None)
    t = start.replace(tzinfo=UTC).timestamp()
    found = utc(parse_cron(expression).next_after(t))
    # Walk day by day (at most two years), then minute by minute through the day.
    day = start.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC)
    expected = None
    while expected is None:
        assert day < start.replace(tzinfo=UTC) + timedelta(days=800), expression
        if _day_matches(fields, star, day):
            for minute in range(24 * 60):
                candidate = day + timedelta(minutes=minute)
                if (
                    candidate.timestamp() > t
                    and candidate.minute in fields[0]
                    and candidate.hour in fields[1]
                ):
                    expected = candidate
                    break
        day += timedelta(days=1)
    assert found == expected, expression


@settings(max_examples=100, deadline=None)
@given(
    minutes=st.sets(st.integers(0, 59), min_size=1, max_size=3),
    hours=_subset(0, 23),
    transition=st.sampled_from([datetime(2024, 3, 31, 1), datetime(2024, 10, 27, 1)]),
    offset_min=st.integers(-26 * 60, 26 * 60),
)
def test_across_clock_changes_ticks_are_the_first_pass_of_matching_wall_times(
    minutes: set[int], hours: set[int] | None, transition: datetime, offset_min: int
) -> None:
    """Every UTC minute whose Paris wall time matches fires, except in the second pass
    of a repeated hour; nothing else does."""
    expression = f"{_text(minutes)} {_text(hours)} * * *"
    t = (transition.replace(tzinfo=UTC) + timedelta(minutes=offset_min)).timestamp()
    found = parse_cron(expression, "Europe/Paris").next_after(t)
    minute = datetime.fromtimestamp(t, UTC).replace(second=0) + timedelta(minutes=1)
    while True:
        local = minute.astimezone(PARIS)
        if local.minute in minutes and (hours is None or local.hour in hours) and local.fold == 0:
            break
        minute += timedelta(minutes=1)
    assert utc(found) == minute, expression
