"""Counting results together, on every state store backend: the blocks a round's
results change stored in one write, from the blocks the ledger holds at hand, and
every result still counted exactly once when a block changed behind its back."""

from dataclasses import replace
from typing import Any

from support.rig import NOW, Rig, lease_one

from channel.wire.models import Task
from seeker.state.base import StateStore
from seeker.work.blocks import Block, block_id_of_task
from seeker.work.jobs import Job, JobStatus


def spy_writes(store: StateStore) -> list[int]:
    """How many blocks each `replace_blocks` call of `store` wrote, call by call."""
    writes: list[int] = []
    real = store.replace_blocks

    async def replace_blocks(docs: list[dict[str, Any]]) -> list[bool]:
        writes.append(len(docs))
        return await real(docs)

    store.replace_blocks = replace_blocks  # type: ignore[method-assign]
    return writes


async def copy_to(rig: Rig, job: Job, giver: str) -> Task:
    """Lease a copy of the job's block to `giver`, in a round of two copies where
    the first result settles it."""
    (block,) = await rig.keys.ready(job, NOW, 1)
    task = await lease_one(rig.keys, job, block, rig.givers[giver].id, quorum=1, wanted=2)
    assert task is not None
    return task


async def test_results_of_several_blocks_count_together_in_one_write(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b", "c", "d", "e", "f"], block_size=2)
    tasks = [await rig.lease(job, giver) for giver in ("A", "B", "C")]
    results = [await rig.report(task, giver) for task, giver in zip(tasks, "ABC", strict=True)]
    writes = spy_writes(rig.keys.store)
    counted = await rig.keys.count_together(results, NOW)
    assert sorted(counted) == [0, 1, 2] and writes == [3]
    assert job.counts()["done"] == 6 and job.status is JobStatus.DONE
    assert rig.keys.leases == {} and rig.keys.live_blocks == {}


async def test_copies_of_one_block_count_in_the_order_given(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b"], block_size=2)
    first, second = [await copy_to(rig, job, giver) for giver in ("A", "B")]
    from_b, from_a = await rig.report(second, "B"), await rig.report(first, "A")
    counted = await rig.keys.count_together([from_b, from_a], NOW)
    # B's copy came first and settled the block: A's copy is cancelled, its result
    # is left to `apply`, which finds no live copy for it.
    assert list(counted) == [0]
    assert [ref.task_id for ref in counted[0].cancelled] == [first.task_id]
    assert await rig.keys.apply(from_a, NOW) is None
    assert job.counts()["done"] == 2 and job.status is JobStatus.DONE


async def test_a_block_changed_behind_the_ledgers_back_is_read_again_and_counts_once(
    rig: Rig,
) -> None:
    job = await rig.job(keys=["a", "b", "c", "d"], block_size=2)
    changed, kept = await rig.lease(job, "A"), await rig.lease(job, "B")
    # Another writer moves the block on: the ledger's copy at hand is now stale.
    block_id = block_id_of_task(changed.task_id)
    doc = await rig.keys.store.block(block_id)
    assert doc is not None
    stored = Block.from_doc(doc)
    moved = replace(stored, version=stored.version + 1)
    assert await rig.keys.store.replace_block(moved.to_doc(job.spec.max_attempts, 0))
    results = [await rig.report(changed, "A"), await rig.report(kept, "B")]
    counted = await rig.keys.count_together(results, NOW)
    assert list(counted) == [1]
    assert await rig.keys.apply(results[0], NOW) is not None
    assert await rig.keys.apply(results[0], NOW) is None
    assert job.counts()["done"] == 4 and job.status is JobStatus.DONE


async def test_a_result_answering_no_live_copy_is_left_and_counts_nothing(rig: Rig) -> None:
    job = await rig.job(keys=["a", "b"], block_size=2)
    task = await rig.lease(job, "A")
    stranger = await rig.report(task, "B")
    assert await rig.keys.count_together([stranger], NOW) == {}
    assert await rig.keys.apply(stranger, NOW) is None
    assert job.counts()["leased"] == 2
