"""How a block and a disagreement among its copies read, as pure logic over
blocks the tests build (the grid tests show the same views over real runs)."""

from support.results import answer, copies

from channel.wire.models import KeyBlock
from seeker.views.blocks import block_view, disagreement_view, keys_view
from seeker.work.blocks import Block
from seeker.work.jobs import Job
from seeker.work.ledger import LeaseRef
from seeker.work.spec import parse_job

NAMES = {"gA": "alice", "gB": "bob", "gC": "carol"}


def names(giver_id: str) -> str:
    return NAMES.get(giver_id, "")


def test_a_round_whose_results_differ_is_undecided_until_a_majority_is_chosen() -> None:
    block = copies(Block("j1", 0, KeyBlock(keys=("a", "b"))), "gA", "gB", "gC", quorum=2, wanted=3)
    assert not block.disputed
    block = answer(block, "gA", {"v": 1})
    block = answer(block, "gB", {"v": 2})
    assert block.disputed and block.to_doc(3, 0.0)["disputed"]
    undecided = disagreement_view(block, names)
    assert undecided["outcome"] == "undecided" and undecided["chosen"] is None
    assert undecided["reason"].startswith("copies disagree (2 different results: ")
    assert [(c["giver_name"], c["role"]) for c in undecided["copies"]] == [
        ("alice", "waiting"),
        ("bob", "waiting"),
    ]

    block = answer(block, "gC", {"v": 1})
    assert block.disputed
    chosen = disagreement_view(block, names)
    assert chosen["outcome"] == "chosen"
    assert [(c["giver_id"], c["role"]) for c in chosen["copies"]] == [
        ("gA", "chosen"),
        ("gB", "rejected"),
        ("gC", "agreed"),
    ]
    digests = {c["giver_id"]: c["digest"] for c in chosen["copies"]}
    assert chosen["chosen"] == {"task_id": "j1-000000.0", "giver_id": "gA", "digest": digests["gA"]}
    assert digests["gA"] == digests["gC"] != digests["gB"]
    assert digests["gB"][:12] in chosen["reason"] and "gA, gC" in chosen["reason"]


def test_copies_that_agree_are_no_disagreement() -> None:
    block = copies(Block("j1", 0, KeyBlock(keys=("a",))), "gA", "gB", quorum=2, wanted=2)
    block = answer(block, "gA", {"v": 1})
    block = answer(block, "gB", {"v": 1})
    assert not block.disputed and not block.to_doc(3, 0.0)["disputed"]


def test_a_leased_block_names_its_primary_and_its_copies_progress() -> None:
    job = Job("j1", parse_job({"image": "x:1", "keys": ["a", "b"]}), 2, 1, 10)
    block = copies(Block("j1", 0, KeyBlock(keys=("a", "b"))), "gA", "gB", quorum=2, wanted=2)
    first, second = block.copies
    leases = {first.task_id: LeaseRef(first.task_id, "j1", "gA", 100.0, 2, 0.0, progress=1)}
    view = block_view(block, job, 0.0, names, leases, {})
    assert view["state"] == "leased" and view["tally"]["leased"] == 2
    assert view["round"] == {"keys": 2, "quorum": 2, "wanted": 2, "extra": 0, "tailed": False}
    assert [
        (lease["giver_name"], lease["role"], lease["progress"]) for lease in view["leases"]
    ] == [
        ("alice", "primary", 1),
        ("bob", "copy", 0),
    ]
    block = answer(block, "gA", {"v": 1})
    (lease,) = block_view(block, job, 0.0, names, leases, {})["leases"]
    assert lease["task_id"] == second.task_id and lease["role"] == "copy"
    assert keys_view(block.keys) == {"count": 2, "first": "a", "last": "b"}
    assert keys_view(KeyBlock(start=5, stop=9)) == {"count": 4, "range": [5, 9]}
