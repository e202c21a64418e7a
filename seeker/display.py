"""How the `seeker` commands read and show times for people."""

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
