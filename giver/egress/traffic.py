"""What the Giver's traffic may come to: a daily and a monthly cap, and rates.

Every byte a scraper moves through the gateway counts, both ways, and so do
image archives fetched from the Seeker and results posted to the Channel. The
counts of the current day and month (local time) are kept in a small file in
the data dir, so a restart does not hand out the cap again. Once either cap
is reached `exhausted()` says why until the period turns: the Giver then runs
no task that needs the network and the gateway refuses new requests.

Upload and download rates are paced by a token bucket each (one second's
worth of burst): `pace()` sleeps, on whichever event loop calls it, until the
bytes it was given fit under the rate. It is shared by the gateway's thread and
the Giver's loop, so the rates hold for all the Giver's traffic together.
"""

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Direction = Literal["up", "down"]
SAVE_EVERY_S = 5.0
MIN_BURST_BYTES = 64 * 1024
GIB = 2**30


def size(n: int) -> str:
    """Bytes as a person reads them: 1.5 GiB, 300.0 MiB, 12.0 KiB, 10 bytes."""
    for unit, scale in (("GiB", GIB), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


@dataclass(slots=True)
class Bucket:
    """A token bucket of `rate` bytes/s that may go into debt: pacing waits the debt off."""

    rate: int
    tokens: float
    at: float

    def take(self, n: int, now: float) -> float:
        """Take `n` bytes; the seconds to wait before sending them."""
        burst = max(self.rate, MIN_BURST_BYTES)
        self.tokens = min(burst, self.tokens + (now - self.at) * self.rate) - n
        self.at = now
        return max(0.0, -self.tokens / self.rate)


class Traffic:
    """The Giver's traffic, counted against the caps (None: no cap) and paced by the
    rates (bytes/s; None: unpaced). Safe to use from any thread."""

    def __init__(
        self,
        path: Path,
        *,
        day_cap: int | None = None,
        month_cap: int | None = None,
        up_rate: int | None = None,
        down_rate: int | None = None,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.path = path
        self.day_cap = day_cap
        self.month_cap = month_cap
        self._clock = clock
        self._lock = threading.Lock()
        # One write of the file at a time, whichever thread counts.
        self._saving = threading.Lock()
        self._day, self._month = "", ""
        self.day_bytes = self.month_bytes = 0
        self._saved_at = 0.0
        self._dirty = False
        now = time.monotonic()
        self._buckets: dict[Direction, Bucket | None] = {
            "up": Bucket(up_rate, up_rate, now) if up_rate else None,
            "down": Bucket(down_rate, down_rate, now) if down_rate else None,
        }

    def load(self) -> None:
        """Read the counts a previous run left; an unreadable file counts from zero,
        with a warning."""
        try:
            saved = json.loads(self.path.read_text())
            day, month = str(saved["day"]), str(saved["month"])
            day_bytes, month_bytes = int(saved["day_bytes"]), int(saved["month_bytes"])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning(
                "cannot read the traffic counts in %s (%s); counting from zero", self.path, e
            )
            return
        with self._lock:
            self._day, self._month = day, month
            self.day_bytes, self.month_bytes = day_bytes, month_bytes
            self._roll()

    def count(self, n: int) -> bool:
        """Count `n` bytes moved (either way); whether the counts are due to be saved."""
        with self._lock:
            self._roll()
            self.day_bytes += n
            self.month_bytes += n
            self._dirty = True
            return time.monotonic() - self._saved_at >= SAVE_EVERY_S

    async def pace(self, direction: Direction, n: int) -> None:
        """Count `n` bytes (saving the counts, off the loop, when due), then wait until
        they may go `direction` under its rate."""
        if self.count(n):
            await asyncio.to_thread(self.save)
        bucket = self._buckets[direction]
        if bucket is None:
            return
        with self._lock:
            delay = bucket.take(n, time.monotonic())
        if delay > 0:
            await asyncio.sleep(delay)

    def exhausted(self) -> str:
        """Why the Giver may not use the network now (a clause after "this Giver"),
        or "" while it is under both caps."""
        with self._lock:
            self._roll()
            day_bytes, month_bytes = self.day_bytes, self.month_bytes
        if self.month_cap is not None and month_bytes >= self.month_cap:
            return (
                f"has used its volunteer's monthly traffic cap ({size(month_bytes)} of "
                f"{size(self.month_cap)}); network tasks resume next month"
            )
        if self.day_cap is not None and day_bytes >= self.day_cap:
            return (
                f"has used its volunteer's daily traffic cap ({size(day_bytes)} of "
                f"{size(self.day_cap)}); network tasks resume after midnight, local time"
            )
        return ""

    def view(self) -> dict[str, Any]:
        """The counts and limits, as `giver status` shows them."""
        paused = self.exhausted()
        with self._lock:
            return {
                "today_bytes": self.day_bytes,
                "month_bytes": self.month_bytes,
                "day_cap_bytes": self.day_cap,
                "month_cap_bytes": self.month_cap,
                "up_rate": _rate(self._buckets["up"]),
                "down_rate": _rate(self._buckets["down"]),
                "paused": paused,
            }

    def save(self) -> None:
        """Write the counts (atomically and durably) if they changed since the last write."""
        with self._saving:
            with self._lock:
                if not self._dirty:
                    return
                body = {
                    "day": self._day,
                    "day_bytes": self.day_bytes,
                    "month": self._month,
                    "month_bytes": self.month_bytes,
                }
                self._dirty = False
                self._saved_at = time.monotonic()
            partial = self.path.with_name(self.path.name + ".partial")
            try:
                with open(partial, "w") as f:
                    f.write(json.dumps(body))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(partial, self.path)
            except OSError as e:
                log.warning("cannot save the traffic counts to %s: %s", self.path, e)

    def _roll(self) -> None:
        """Start a new day's (and month's) count when the local date turns; under the lock."""
        now = self._clock()
        day, month = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")
        if day != self._day:
            self._day, self.day_bytes, self._dirty = day, 0, True
        if month != self._month:
            self._month, self.month_bytes, self._dirty = month, 0, True


def _rate(bucket: Bucket | None) -> int | None:
    return bucket.rate if bucket is not None else None
