"""How the `seeker` commands and the admin pages read and show times and numbers
for people."""

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

DURATION_UNITS_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def moment(at: float | None) -> str:
    """A time as the lists show it, to the minute; `never` for none."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if at else "never"


def duration_s(given: str) -> float:
    """Seconds in a duration such as 90s, 30m, 12h, 7d, or a plain number of seconds."""
    text = given.strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in DURATION_UNITS_S else (text, "s")
    try:
        seconds = float(number) * DURATION_UNITS_S[unit]
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(
            f"{given!r} is not a positive duration such as 90s, 30m, 12h or 7d"
        )
    return seconds


def print_list(noun: str, items: Sequence[Any], line: Callable[[Any], str]) -> None:
    """`NOUN: COUNT`, then one indented line per item."""
    print(f"{noun}: {len(items)}")
    for item in items:
        print(f"  {line(item)}")


# Numbers for people, as the admin pages show them (static/admin.js keeps the same rules).

_SPANS_S = (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0))


def count(n: int | float) -> str:
    """A whole number with thousands separators: 1,234."""
    return f"{round(n):,}"


def rate(keys_per_s: float | None) -> str:
    """Keys a second: `3.2 keys/s`, `1,234 keys/s`; an em dash while unknown."""
    if keys_per_s is None:
        return "\u2014"
    shown = f"{keys_per_s:,.1f}" if keys_per_s < 100 else count(keys_per_s)
    return f"{shown.removesuffix('.0')} keys/s"


def latency(ms: float | None) -> str:
    """A round trip: `0.4 ms`, `12 ms`, `1.5 s`; an em dash when there was none."""
    if ms is None:
        return "\u2014"
    if ms < 10:
        return f"{ms:.1f} ms"
    if round(ms) < 1000:
        return f"{round(ms)} ms"
    return f"{ms / 1000:,.1f} s"


def duration(seconds: float | None) -> str:
    """A span in its two largest units: `45 s`, `4 min 10 s`, `2 h 5 min`, `3 d`;
    `under 1 s`; an em dash while unknown."""
    if seconds is None:
        return "\u2014"
    return " ".join(f"{n} {unit}" for n, unit in _largest(seconds, 2)) or "under 1 s"


def _largest(seconds: float, most: int) -> list[tuple[int, str]]:
    """The `most` largest units of a span from its first non-zero one, zeros left out."""
    left = round(seconds)
    parts: list[tuple[int, str]] = []
    for unit, size_s in _SPANS_S:
        whole, left = divmod(left, int(size_s))
        if whole or parts:
            parts.append((whole, unit))
    return [(n, unit) for n, unit in parts[:most] if n]


def ago(at: float | None, now: float) -> str:
    """A moment relative to `now` in its largest unit: `12 s ago`, `4 min ago`, `in
    2 h`, `just now`; `never` for none."""
    if not at:
        return "never"
    delta_s = now - at
    parts = _largest(abs(delta_s), 1)
    if not parts:
        return "just now"
    ((n, unit),) = parts
    return f"{n} {unit} ago" if delta_s > 0 else f"in {n} {unit}"


def stamp_utc(at: float | None) -> str:
    """A moment in full, in UTC: `2025-01-31 14:05:09 UTC`; empty for none."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at)) if at else ""


def percent(part: int, whole: int) -> int:
    """`part` of `whole` in whole percent, rounded down: 100 only when all of it."""
    return 100 if whole <= 0 else part * 100 // whole


def size(n_bytes: int | float | None) -> str:
    """A size in binary units: `256 MiB`, `1.5 GiB`; an em dash while unknown."""
    if n_bytes is None:
        return "\u2014"
    value, unit = float(n_bytes), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:,.1f}".removesuffix(".0") + f" {unit}"
