"""The Giver's redial delays: doubling with jitter, and a wait the other side asked for."""

import logging

import pytest

from channel.jsonweb import retry_after_s
from giver.link import retry
from giver.link.retry import Retry

pytestmark = pytest.mark.unit


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays Retry sleeps, recorded instead of slept."""
    delays: list[float] = []

    async def sleep(delay_s: float) -> None:
        delays.append(delay_s)

    monkeypatch.setattr(retry.asyncio, "sleep", sleep)
    return delays


async def test_delays_double_up_to_the_most_then_start_afresh_after_success(
    slept: list[float],
) -> None:
    attempts = Retry(logging.getLogger("test"), max_s=4.0, initial_s=0.5)
    for _ in range(6):
        await attempts.after_failure("failed")
    nominal = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(n / 2 <= d <= n for d, n in zip(slept, nominal, strict=True)), slept
    assert attempts.succeeded()
    await attempts.after_failure("failed")
    assert 0.25 <= slept[-1] <= 0.5


async def test_a_wait_the_other_side_asks_for_is_kept_and_starts_the_doubling_afresh(
    slept: list[float],
) -> None:
    attempts = Retry(logging.getLogger("test"), max_s=30.0, initial_s=0.5)
    for _ in range(5):
        await attempts.after_failure("failed")
    await attempts.after_failure("no leader", asked_s=1.0)
    assert 1.0 <= slept[-1] <= 1.5
    await attempts.after_failure("failed")
    assert 0.25 <= slept[-1] <= 0.5
    await attempts.after_failure("no leader", asked_s=600.0)
    assert slept[-1] == 30.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("1", 1.0), ("0", 0.0), ("2.5", 2.5), (None, None), ("-1", None), ("inf", None),
     ("nan", None), ("Wed, 21 Oct 2026 07:28:00 GMT", None)],
)  # fmt: skip
def test_retry_after_is_read_in_seconds_only(header: str | None, seconds: float | None) -> None:
    assert retry_after_s(header) == seconds
