"""Counts over a sliding window, and a job's rate and ETA, on a clock the test moves."""

import pytest

from channel.wire.models import KeyBlock
from channel.wire.results import KeyOutcome, Result
from seeker.work.blocks import Block
from seeker.work.history import Tally
from seeker.work.jobs import Job, JobStatus
from seeker.work.rate import SlidingCount
from seeker.work.spec import parse_job

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self, now_s: float = 1000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def test_a_steady_stream_reads_as_its_rate_and_old_counts_leave_the_window() -> None:
    clock = Clock()
    count = SlidingCount(60.0, 1.0, clock)
    for _ in range(120):
        clock.now_s += 0.5
        count.add(5)
    # 10 a second for the last minute.
    assert count.count() in range(590, 601)
    assert count.per_s() == pytest.approx(10.0, rel=0.02)
    clock.now_s += 30.0
    assert count.per_s() == pytest.approx(5.0, rel=0.04)
    clock.now_s += 60.0
    assert count.count() == 0 and count.per_s() == 0.0


def test_the_rate_counts_only_the_time_since_counting_began() -> None:
    clock = Clock()
    count = SlidingCount(60.0, 1.0, clock)
    clock.now_s += 10.0
    count.add(100)
    assert count.per_s() == pytest.approx(10.0)


def test_a_burst_at_the_start_is_spread_over_one_bucket_at_least() -> None:
    clock = Clock()
    count = SlidingCount(60.0, 1.0, clock)
    clock.now_s += 0.01
    count.add(50)
    assert count.per_s() == 50.0


def test_nothing_and_negative_counts_are_not_counted() -> None:
    count = SlidingCount(60.0, 1.0, Clock())
    count.add(0)
    count.add(-3)
    assert count.count() == 0 and count.per_s() == 0.0


def test_memory_stays_within_the_window_however_many_are_added() -> None:
    clock = Clock()
    count = SlidingCount(3600.0, 60.0, clock)
    for _ in range(100_000):
        clock.now_s += 0.7
        count.add(1)
    assert len(count._buckets) <= 61
    assert count.count() in range(3600 * 10 // 7 - 90, 3600 * 10 // 7 + 1)


def test_a_bucket_wider_than_the_window_is_refused() -> None:
    with pytest.raises(ValueError, match="bucket_s"):
        SlidingCount(60.0, 61.0)
    with pytest.raises(ValueError, match="bucket_s"):
        SlidingCount(60.0, 0.0)


def counted(block: Block, ok: list[str], failed: list[str], at: float) -> Block:
    block = block.leased_to("gA", at, at + 100, block.keys)
    lease = block.copies[-1]
    result = Result(
        result_id=f"r-{lease.task_id}",
        task_id=lease.task_id,
        job_id=block.job_id,
        giver_id="gA",
        records=[{"key": k, "data": {}} for k in ok],
        outcomes=[KeyOutcome(k, True) for k in ok] + [KeyOutcome(k, False, "404") for k in failed],
        error=None,
        started_at=at,
        finished_at=at,
    )
    return block.counted(result, at)


def test_a_jobs_rate_counts_keys_done_and_failed_and_its_eta_the_keys_left() -> None:
    clock = Clock()
    spec = parse_job({"image": "x:1", "keys": ["a", "b", "c", "d"], "max_attempts": 1})
    job = Job("j1", spec, total=4, block_count=2, priority=10, status=JobStatus.RUNNING)
    job.finished = SlidingCount(60.0, 1.0, clock)
    job.failed_recently = SlidingCount(3600.0, 60.0, clock)
    first = Block("j1", 0, KeyBlock(keys=("a", "b")))
    job.tally = Tally(pending=4)
    assert job.view()["rate_keys_per_s"] == 0.0 and job.view()["eta_s"] is None
    clock.now_s += 10.0
    job.changed(first, counted(first, ["a"], ["b"], at=5.0))
    view = job.view()
    assert view["rate_keys_per_s"] == pytest.approx(0.2)
    assert view["eta_s"] == pytest.approx(10.0)
    assert view["failed_last_hour"] == 1
    assert view["failures"] == [{"block_id": "j1-000000", "key": "b", "reason": "404", "at": 5.0}]
    job.status = JobStatus.PAUSED
    assert job.view()["eta_s"] is None
    job.status = JobStatus.RUNNING
    second = Block("j1", 1, KeyBlock(keys=("c", "d")))
    job.changed(second, counted(second, ["c", "d"], [], at=6.0))
    assert job.settle(7.0) and job.view()["eta_s"] is None
    assert job.view()["rate_keys_per_s"] == pytest.approx(0.4)
