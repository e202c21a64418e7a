"""The event loop's lag as /metrics reports it: the 99th percentile of a window of
recent samples."""

import pytest

from seeker.views.lag import LoopLag

pytestmark = pytest.mark.unit


def test_no_sample_yet_reads_as_no_lag() -> None:
    assert LoopLag().p99_s() == 0.0


def test_the_p99_of_a_hundred_samples_is_the_99th_smallest() -> None:
    lag = LoopLag(window=100)
    for n in range(100, 0, -1):
        lag.record(n / 1000)
    assert lag.p99_s() == 0.099


def test_one_slow_moment_among_a_hundred_does_not_make_the_p99() -> None:
    lag = LoopLag(window=100)
    for _ in range(99):
        lag.record(0.001)
    lag.record(5.0)
    assert lag.p99_s() == 0.001


def test_samples_older_than_the_window_fall_out_of_it() -> None:
    lag = LoopLag(window=10)
    for _ in range(10):
        lag.record(2.0)
    for _ in range(10):
        lag.record(0.01)
    assert lag.p99_s() == 0.01


def test_waking_early_counts_as_no_lag() -> None:
    lag = LoopLag(window=10)
    lag.record(-0.002)
    assert lag.p99_s() == 0.0
