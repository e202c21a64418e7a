"""The coordinator counting results: each job's new results read once from the
Channel's cursor, only the lease holder's counting, across rounds and restarts."""

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.coordinator_rig import Rig, assigned, open_rig, signed

from channel.wire.identity import Identity
from seeker.grid.coordinator import STEP_BATCH
from seeker.work.jobs import JobStatus
from seeker.work.manager import KeyManager


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


async def test_results_from_givers_not_holding_the_lease_cannot_crowd_out_the_holders(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 2], block_size=2)
    holder, stranger = Identity.generate(), Identity.generate()
    for identity in (holder, stranger):
        await rig.keys.channel.register_giver(identity.id, identity.public_key)
    session = rig.giver(slots=1, identity=holder)
    await rig.coordinator.step()
    (assign,) = session.sent
    task = assign.task
    for n in range(STEP_BATCH + 1):
        await rig.post(stranger, task, f"0{n:04d}")
    await rig.post(holder, task, "9")
    await rig.coordinator.step()
    assert job.counts()["done"] == 2 and job.status is JobStatus.DONE


async def test_a_result_counts_once_and_the_jobs_cursor_is_saved_past_it(rig: Rig) -> None:
    job = await rig.job(range=[0, 4], block_size=2)
    session = rig.giver(slots=1)
    await rig.coordinator.step()
    assert await rig.answer(session) == 1
    for _ in range(2):
        await rig.coordinator.step()
    assert rig.coordinator.counters.results_accepted == 1 and job.counts()["done"] == 2
    (doc,) = await rig.keys.store.jobs()
    assert doc["result_cursors"] == job.result_cursors and list(job.result_cursors.values()) == [1]


async def test_results_of_several_jobs_past_one_rounds_batch_all_count_in_later_rounds(
    rig: Rig,
) -> None:
    blocks = STEP_BATCH + 10
    jobs = [await rig.job(range=[0, blocks], block_size=1) for _ in range(2)]
    session = rig.giver(slots=2 * blocks)
    for _ in range(4):
        await rig.coordinator.step()
    assert len(assigned(session)) == 2 * blocks
    await rig.answer(session)
    for _ in range(4):
        await rig.coordinator.step()
    assert rig.coordinator.counters.results_accepted == 2 * blocks
    assert [job.status for job in jobs] == [JobStatus.DONE, JobStatus.DONE]


async def test_a_late_result_of_a_lapsed_lease_is_passed_over_for_the_new_holders(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 2], block_size=2)
    late = rig.giver(slots=1)
    await rig.coordinator.step()
    await rig.keys.expire(time.time() + 3600)
    late.closed = True
    on_time = rig.giver(slots=1)
    await rig.coordinator.step()
    assert len(assigned(on_time)) == 1
    await rig.answer(late, {"price": 1})
    await rig.coordinator.step()
    assert job.counts()["leased"] == 2 and rig.coordinator.counters.results_accepted == 0
    await rig.answer(on_time, {"price": 2})
    await rig.coordinator.step()
    assert job.status is JobStatus.DONE and rig.coordinator.counters.results_accepted == 1


async def test_a_result_stored_while_no_seeker_ran_counts_for_the_lease_restored_after(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 4], block_size=2)
    session = rig.giver(slots=2)
    await rig.coordinator.step()
    first, second = assigned(session)
    identity = rig.identities[session.giver_id]
    await rig.keys.channel.register_giver(identity.id, identity.public_key)
    await rig.post(identity, first, "before")
    await rig.coordinator.step()
    assert job.counts()["done"] == 2

    # The Seeker stops; the Channel takes the other copy's result meanwhile.
    await rig.keys.channel.put_result(signed(identity, second, "meanwhile"))
    keys = KeyManager(rig.keys.store, rig.keys.channel, lease_grace_s=10)
    await keys.load(time.time())
    again = Rig(keys, rig.scratch)
    again.giver(slots=2, identity=identity)
    assert list(keys.leases) == [second.task_id]
    await again.coordinator.step()
    restored = keys.jobs[job.job_id]
    assert restored.status is JobStatus.DONE and restored.counts()["done"] == 4
    assert again.coordinator.counters.results_accepted == 1 and again.sessions[0].sent == []
