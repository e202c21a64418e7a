"""A block's bookkeeping as pure logic: runs, retries, invalidation, documents."""

import pytest

from channel.wire.models import KeyBlock
from channel.wire.results import KeyOutcome, Result
from seeker.work.blocks import Block
from seeker.work.history import BlockStatus, Tally

pytestmark = pytest.mark.unit

MAX = 3


def result(block: Block, ok: list[str], failed: dict[str, str], error: str | None = None) -> Result:
    """The result of the block's newest copy."""
    lease = block.copies[-1]
    return Result(
        result_id=f"r-{lease.task_id}",
        task_id=lease.task_id,
        job_id=block.job_id,
        giver_id=lease.giver_id,
        records=[{"key": k, "data": {}} for k in ok],
        outcomes=[KeyOutcome(k, True) for k in ok]
        + [KeyOutcome(k, False, r) for k, r in failed.items()],
        error=error,
        started_at=0.0,
        finished_at=0.0,
    )


def leased(block: Block, giver: str) -> Block:
    keys = block.round.keys if block.round else block.remaining(MAX)
    assert keys is not None
    return block.leased_to(giver, now=0.0, deadline=100.0, keys=keys)


def test_a_range_block_is_leased_whole_and_compactly() -> None:
    block = Block("j1", 7, KeyBlock(start=700, stop=800))
    assert block.block_id == "j1-000007" and block.remaining(MAX) == block.keys
    first = leased(block, "gA")
    assert [c.task_id for c in first.copies] == ["j1-000007.0"]
    again = leased(first.unleased("j1-000007.0"), "gB")
    assert [c.task_id for c in again.copies] == ["j1-000007.1"] and again.round is not None
    assert first.tally(MAX) == Tally(leased=100) and first.status(MAX) is BlockStatus.LEASED


def test_failed_keys_stay_for_a_retry_then_fail_for_good() -> None:
    block = leased(Block("j1", 0, KeyBlock(keys=("a", "b", "c"))), "gA")
    block = block.counted(result(block, ["a"], {"b": "404", "c": "timeout"}), now=10.0)
    assert block.tally(MAX) == Tally(done=1, pending=2)
    assert list(block.remaining(MAX) or []) == ["b", "c"]
    assert block.shunned == ("gA",)
    for attempt, now in ((2, 20.0), (3, 30.0)):
        block = leased(block, f"g{attempt}")
        block = block.counted(result(block, ["c"] if attempt == 3 else [], {"b": "gone"}), now)
    done, failed, left = block.outcome(MAX)
    assert (done, failed, left) == (["a", "c"], {"b": "gone"}, [])
    assert block.status(MAX) is BlockStatus.DONE and block.tally(MAX) == Tally(done=2, failed=1)


def test_a_run_that_failed_as_a_whole_gives_its_error_as_each_keys_reason() -> None:
    block = leased(Block("j1", 0, KeyBlock(keys=("a", "b"))), "gA")
    block = block.counted(result(block, [], {"a": "no status"}, error="timed out after 3 s"), 1.0)
    assert block.outcome(1)[1] == {"a": "timed out after 3 s", "b": "timed out after 3 s"}


def test_retry_waits_a_backoff_that_doubles_per_failure() -> None:
    block = leased(Block("j1", 0, KeyBlock(keys=("a",))), "gA")
    block = block.counted(result(block, [], {"a": "x"}), now=100.0)
    assert block.ready_at(5, backoff_s=10.0) == 110.0
    block = leased(block, "gB")
    block = block.counted(result(block, [], {"a": "x"}), now=200.0)
    assert block.ready_at(5, backoff_s=10.0) == 220.0
    assert block.ready_at(5, backoff_s=0.0) == 0.0


def test_a_giver_invalidation_discards_its_counted_run_and_charges_an_attempt() -> None:
    block = leased(Block("j1", 0, KeyBlock(keys=("a", "b"))), "gA")
    task_id = block.copies[0].task_id
    block = block.counted(result(block, ["a", "b"], {}), now=1.0)
    assert block.status(MAX) is BlockStatus.DONE
    invalidated = block.invalidated_by_giver(task_id, "scraper misbehaved", now=2.0)
    assert invalidated is not None
    assert invalidated.tally(MAX) == Tally(pending=2) and invalidated.shunned == ("gA",)
    assert invalidated.tally(1) == Tally(failed=2)
    assert block.invalidated_by_giver("j1-000000.9", "unknown task", now=2.0) is None


def test_an_operator_invalidation_drops_one_givers_runs_since_a_time() -> None:
    block = leased(Block("j1", 0, KeyBlock(keys=("a", "b", "c"))), "gA")
    block = block.counted(result(block, ["a"], {"b": "x", "c": "x"}), now=10.0)
    block = leased(block, "gB")
    block = block.counted(result(block, ["b", "c"], {}), now=20.0)
    assert block.status(MAX) is BlockStatus.DONE
    assert block.invalidated("gB", since=25.0).tally(MAX) == Tally(done=3)
    after = block.invalidated("gB", since=15.0)
    assert after.tally(MAX) == Tally(done=1, pending=2) and "gB" in after.shunned
    assert block.invalidated().tally(MAX) == Tally(pending=3)


def test_refused_by_everyone_fails_the_remaining_keys_at_once() -> None:
    block = Block("j1", 0, KeyBlock(keys=("a", "b")))
    failed = block.failed_for_good("refused by every Giver", now=1.0, max_attempts=MAX)
    assert failed.tally(MAX) == Tally(failed=2) and failed.givers() == []


def test_a_block_survives_its_document() -> None:
    block = leased(Block("j1", 3, KeyBlock(keys=("a", "b"))), "gA")
    block = block.counted(result(block, ["a"], {"b": "x"}), now=5.0)
    block = leased(block, "gB").unleased("j1-000003.1", refusal="no image")
    doc = block.to_doc(MAX, 30.0)
    assert (doc["status"], doc["ready_at"], doc["givers"]) == ("pending", 35.0, ["gA"])
    assert Block.from_doc(doc) == block


def test_a_release_prefers_another_giver_and_a_refusal_excludes_the_giver() -> None:
    block = leased(Block("j1", 0, KeyBlock(keys=("a",))), "gA")
    task_id = block.copies[0].task_id
    assert block.unleased(task_id).shunned == () and block.unleased(task_id).refused == {}
    assert block.unleased(task_id).round is None
    assert block.unleased(task_id, released=True).shunned == ("gA",)
    assert block.unleased(task_id, refusal="no image").refused == {"gA": "no image"}


def test_invalidating_an_old_run_keeps_another_givers_live_lease() -> None:
    block = leased(Block("j1", 0, KeyBlock(keys=("a", "b"))), "gA")
    old_task = block.copies[0].task_id
    block = block.counted(result(block, ["a"], {"b": "x"}), now=1.0)
    block = leased(block, "gB")
    after = block.invalidated_by_giver(old_task, "scraper misbehaved", now=2.0)
    assert after is not None and after.copies == block.copies
    assert after.tally(MAX) == Tally(leased=2)


def test_a_huge_failure_reason_is_cut() -> None:
    block = leased(Block("j1", 0, KeyBlock(keys=("a",))), "gA")
    block = block.counted(result(block, [], {}, error="x" * 200_000), now=1.0)
    (reason,) = block.outcome(1)[1].values()
    assert len(reason) == 500 and reason.endswith("…")
