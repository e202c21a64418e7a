"""When a Giver takes work: its volunteer's active hours, in local time.

An `ActiveHours` is one daily window "HH:MM-HH:MM"; a window whose end is not
after its start wraps midnight ("22:00-07:00" is ten hours of night). No
windows at all means any time.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

WINDOW = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class ActiveHours:
    """One daily window, as minutes since midnight: start <= t < end, wrapping
    midnight when end <= start."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> "ActiveHours":
        """ "HH:MM-HH:MM" as a window; ValueError naming what is wrong."""
        match = WINDOW.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = map(int, match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 > 0):
            raise ValueError(f"{text!r} is not a time of day (00:00 to 24:00)")
        return cls(h1 * 60 + m1, h2 * 60 + m2)

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    def contains(self, minute: int) -> bool:
        """Whether `minute` (since midnight) falls in the window."""
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


def outside(windows: Iterable[ActiveHours], now: datetime) -> str | None:
    """Why `now` is outside every window (a clause that follows the Giver's name), or
    None if it is inside one or there are none."""
    windows = tuple(windows)
    minute = now.hour * 60 + now.minute
    if not windows or any(w.contains(minute) for w in windows):
        return None
    listed = ", ".join(map(str, windows))
    return f"is outside its active hours ({listed})"


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
