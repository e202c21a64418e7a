"""Choosing among the results of a block's copies: pure logic, then on a block."""

import pytest
from support.results import answer, copies, make_result

from channel.wire.models import KeyBlock
from seeker.work.blocks import Block
from seeker.work.choice import Choice, Verdict, Vote, comparison_digest, decide
from seeker.work.history import Role, Tally

pytestmark = pytest.mark.unit

MAX = 3


def test_comparison_ignores_order_and_reasons_and_optionally_named_fields() -> None:
    a = make_result("t.0", "gA", {"1": {"price": 5, "at": 100}, "2": {"price": 7, "at": 101}})
    b = make_result("t.1", "gB", {"2": {"price": 7, "at": 205}, "1": {"price": 5, "at": 204}})
    c = make_result("t.2", "gC", {"1": {"price": 6, "at": 100}, "2": {"price": 7, "at": 101}})
    assert comparison_digest(a) != comparison_digest(b)
    assert comparison_digest(a, ["at"]) == comparison_digest(b, ["at"])
    assert comparison_digest(a, ["at"]) != comparison_digest(c, ["at"])
    partial = make_result("t.3", "gD", {"1": {"price": 5, "at": 1}}, failed=("2",))
    assert comparison_digest(partial, ["at"]) != comparison_digest(a, ["at"])


def test_majority_needs_a_quorum_and_gets_stuck_when_none_can_form() -> None:
    x, y = Vote("x", empty=False), Vote("y", empty=False)
    assert decide([x], outstanding=1, quorum=2, choice=Choice.MAJORITY).verdict is Verdict.WAIT
    stuck = decide([x, y], outstanding=0, quorum=2, choice=Choice.MAJORITY)
    assert stuck.verdict is Verdict.STUCK
    chosen = decide([x, y, Vote("y", False)], outstanding=0, quorum=2, choice=Choice.MAJORITY)
    assert (chosen.verdict, chosen.winner, chosen.agreeing) == (Verdict.CHOSEN, 1, {1, 2})


def test_first_takes_the_first_useful_result_and_a_crash_only_when_nothing_else_can_come() -> None:
    crash, ok = Vote("c", empty=True), Vote("o", empty=False)
    assert decide([crash], 1, quorum=1, choice=Choice.FIRST).verdict is Verdict.WAIT
    assert decide([crash, ok], 0, quorum=1, choice=Choice.FIRST).winner == 1
    assert decide([crash], 0, quorum=3, choice=Choice.FIRST).winner == 0


def test_two_agreeing_copies_of_three_settle_the_block_and_the_third_is_dropped() -> None:
    block = copies(Block("j1", 0, KeyBlock(keys=("a", "b"))), "gA", "gB", "gC", quorum=2, wanted=3)
    assert block.status(MAX).value == "leased" and block.tally(MAX) == Tally(leased=2)
    block = answer(block, "gA", {"v": 1})
    block = answer(block, "gB", {"v": 2})
    assert block.round is not None and block.tally(MAX) == Tally(leased=2)
    block = answer(block, "gC", {"v": 1})
    assert block.round is None and block.tally(MAX) == Tally(done=2)
    assert [(r.giver_id, r.role) for r in block.runs] == [
        ("gA", Role.CHOSEN),
        ("gB", Role.REJECTED),
        ("gC", Role.AGREED),
    ]


def test_a_disagreement_asks_for_one_more_copy_up_to_the_limit_then_fails_the_keys() -> None:
    block = copies(Block("j1", 0, KeyBlock(keys=("a",))), "gA", "gB", quorum=2, wanted=2)
    block = answer(block, "gA", {"v": 1}, max_extra=1)
    block = answer(block, "gB", {"v": 2}, max_extra=1)
    assert block.round is not None and block.round.wanted == 3 and block.wants_copy
    assert block.status(MAX).value == "pending" and block.round_givers() == {"gA", "gB"}
    block = copies(block, "gC", quorum=2, wanted=2)
    block = answer(block, "gC", {"v": 3}, max_extra=1)
    assert block.round is None and block.tally(MAX) == Tally(failed=1)
    (reason,) = block.outcome(MAX)[1].values()
    assert reason.startswith("copies disagree (3 different results: ") and "gA" in reason
    assert [r.role for r in block.runs] == [Role.REJECTED] * 3 + [Role.CHOSEN]


def test_majority_ignoring_fields_agrees_across_fetch_times() -> None:
    block = copies(Block("j1", 0, KeyBlock(keys=("a",))), "gA", "gB", quorum=2, wanted=2)
    choose = {"ignore": ("at",), "choice": Choice.MAJORITY_IGNORING}
    block = answer(block, "gA", {"v": 1, "at": 1}, **choose)
    block = answer(block, "gB", {"v": 1, "at": 2}, **choose)
    assert block.tally(MAX) == Tally(done=1)


def test_a_tail_copy_adds_a_copy_and_the_first_result_wins() -> None:
    block = copies(Block("j1", 0, KeyBlock(keys=("a",))), "slow", quorum=1, wanted=1)
    keys = block.round.keys  # type: ignore[union-attr]
    block = block.leased_to("fast", 1.0, 100.0, keys, tail=True)
    assert block.round.wanted == 2 and block.round.tailed  # type: ignore[union-attr]
    block = answer(block, "fast", {"v": 1}, choice=Choice.FIRST)
    assert block.copies == () and block.tally(MAX) == Tally(done=1)
