"""The volunteer's traffic caps and rates: counted per local day and month,
kept across restarts, and paced by token buckets. Pure logic with a clock of
the test's own; nothing is timed."""

import json
import logging
from datetime import datetime
from pathlib import Path

import pytest

from giver.egress.traffic import Bucket, Traffic, size

pytestmark = pytest.mark.unit

MIB = 2**20


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_the_daily_cap_pauses_until_midnight_and_the_monthly_one_until_next_month(
    tmp_path: Path,
) -> None:
    clock = Clock(datetime(2026, 12, 7, 23, 59))
    traffic = Traffic(tmp_path / "t.json", day_cap=10 * MIB, month_cap=25 * MIB, clock=clock)
    traffic.count(10 * MIB - 1)
    assert traffic.exhausted() == ""
    traffic.count(1)
    assert traffic.exhausted() == (
        "has used its volunteer's daily traffic cap (10.0 MiB of 10.0 MiB); "
        "network tasks resume after midnight, local time"
    )
    clock.now = datetime(2026, 12, 8, 0, 0)
    assert traffic.exhausted() == ""
    traffic.count(15 * MIB)
    assert traffic.exhausted() == (
        "has used its volunteer's monthly traffic cap (25.0 MiB of 25.0 MiB); "
        "network tasks resume next month"
    )
    clock.now = datetime(2027, 1, 1, 0, 0)
    assert traffic.exhausted() == ""
    assert traffic.view()["month_bytes"] == 0


def test_counts_survive_a_restart_within_the_day(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 7, 12, 0))
    first = Traffic(tmp_path / "t.json", day_cap=MIB, clock=clock)
    first.count(MIB)
    first.save()
    again = Traffic(tmp_path / "t.json", day_cap=MIB, clock=clock)
    again.load()
    assert again.exhausted().startswith("has used its volunteer's daily traffic cap")
    clock.now = datetime(2026, 12, 8, 9, 0)
    tomorrow = Traffic(tmp_path / "t.json", day_cap=MIB, clock=clock)
    tomorrow.load()
    assert tomorrow.exhausted() == ""
    assert tomorrow.view()["month_bytes"] == MIB


def test_an_unreadable_count_file_counts_from_zero_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"day": "2026-12-07", "day_bytes": "lots"}))
    traffic = Traffic(path, day_cap=MIB)
    with caplog.at_level(logging.WARNING):
        traffic.load()
    assert "cannot read the traffic counts" in caplog.text
    assert traffic.exhausted() == ""


def test_a_bucket_lets_a_second_of_burst_through_then_waits_off_the_debt() -> None:
    bucket = Bucket(rate=MIB, tokens=MIB, at=0.0)
    assert bucket.take(MIB, now=0.0) == 0.0
    assert bucket.take(MIB // 2, now=0.0) == 0.5
    # Half a second later the debt is paid; a quarter second's worth waits a quarter.
    assert bucket.take(MIB // 4, now=0.5) == 0.25
    # Idle time refills no more than one second's worth.
    assert bucket.take(2 * MIB, now=100.0) == 1.0


async def test_pacing_counts_what_it_paces(tmp_path: Path) -> None:
    traffic = Traffic(tmp_path / "t.json", up_rate=100 * MIB)
    await traffic.pace("up", 1000)
    # The first count is saved at once (off the loop), later ones every few seconds.
    assert json.loads((tmp_path / "t.json").read_text())["day_bytes"] == 1000
    await traffic.pace("down", 24)
    assert traffic.view()["today_bytes"] == 1024
    assert traffic.view()["up_rate"] == 100 * MIB
    assert traffic.view()["down_rate"] is None


def test_sizes_read_as_people_write_them() -> None:
    assert [size(n) for n in (10, 2048, 3 * MIB, 5 * 2**30)] == [
        "10 bytes",
        "2.0 KiB",
        "3.0 MiB",
        "5.0 GiB",
    ]


async def test_pacing_waits_off_what_goes_past_the_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []

    async def sleep(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr("giver.egress.traffic.asyncio.sleep", sleep)
    traffic = Traffic(tmp_path / "t.json", down_rate=MIB)
    await traffic.pace("down", MIB)  # a second's burst goes at once
    await traffic.pace("down", 3 * MIB)
    await traffic.pace("up", 10 * MIB)  # no upload rate
    assert len(waited) == 1 and 2.9 < waited[0] <= 3.0
