"""The coordinator's placement rules on a real state store, with Givers that only
record what they are sent (the session itself is tested end to end elsewhere)."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from support.coordinator_rig import (
    RecordingSession,
    Rig,
    StuckSession,
    assigned,
    block_of,
    open_rig,
)

from channel.wire import messages
from seeker.grid import registry
from seeker.grid.coordinator import STEP_BATCH
from seeker.views.givers import givers_view
from seeker.work.jobs import JobStatus
from seeker.work.manager import KeyManager


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


async def test_jobs_share_the_givers_in_proportion_to_priority(rig: Rig) -> None:
    urgent = await rig.job(priority=30)
    routine = await rig.job(priority=10)
    paused = await rig.job(priority=1000)
    await rig.keys.set_status(paused.job_id, JobStatus.PAUSED, 0)
    for _ in range(4):
        rig.giver(slots=2)
    await rig.coordinator.step()
    assert (rig.leases_of(urgent), rig.leases_of(routine), rig.leases_of(paused)) == (6, 2, 0)
    assert all(len(s.sent) == 2 for s in rig.sessions)
    assert all(isinstance(m, messages.Assign) for s in rig.sessions for m in s.sent)


async def test_a_block_every_giver_refused_fails_with_their_reasons(rig: Rig) -> None:
    job = await rig.job(range=[0, 3], block_size=3)
    session = rig.giver(slots=1)
    await rig.coordinator.step()
    (assign,) = session.sent
    assert isinstance(assign, messages.Assign)
    await rig.coordinator.on_message(
        session.giver_id, messages.Refuse(assign.task.task_id, "no such image")
    )
    await rig.coordinator.step()
    assert job.counts()["failed"] == 3 and job.status is JobStatus.DONE
    assert job.failures[0].reason == f"refused by every Giver ({session.giver_id}: no such image)"


async def test_a_block_refused_by_the_only_free_giver_waits_for_a_busy_one_that_did_not(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 2], block_size=1)
    givers = [rig.giver(slots=1), rig.giver(slots=1)]
    await rig.coordinator.step()
    refuser, busy = givers
    (assign,) = refuser.sent
    await rig.coordinator.on_message(
        refuser.giver_id, messages.Refuse(assign.task.task_id, "no such image")
    )
    await rig.coordinator.step()
    assert job.counts()["failed"] == 0 and job.counts()["pending"] == 1
    assert len(refuser.sent) == 1 and len(busy.sent) == 1


async def test_a_giver_that_refused_a_job_by_policy_is_offered_none_of_it_until_it_registers(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 30], block_size=3)
    strict, other = rig.giver(slots=1), rig.giver(slots=1)
    await rig.coordinator.step()
    (assign,) = strict.sent
    assert isinstance(assign, messages.Assign)
    refusal = messages.Refuse(assign.task.task_id, "image x:1 is not allowed", policy=True)
    await rig.coordinator.on_message(strict.giver_id, refusal)
    for _ in range(5):
        await rig.coordinator.step()
        await rig.answer(other)
        await rig.coordinator.step()
    assert len(strict.sent) == 1 and len(other.sent) == 6
    assert [r.reason for r in job.refusals] == ["image x:1 is not allowed"]
    assert job.counts()["failed"] == 0

    entry = rig.registry.get(strict.giver_id)
    assert entry is not None
    rig.registry.register(entry.info)
    await rig.coordinator.step()
    assert len(strict.sent) == 2


async def test_a_job_every_fitting_giver_refused_by_policy_fails_block_after_block(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 9], block_size=3)
    session = rig.giver(slots=1)
    await rig.coordinator.step()
    (assign,) = session.sent
    refusal = messages.Refuse(assign.task.task_id, "image x:1 is not allowed", policy=True)
    await rig.coordinator.on_message(session.giver_id, refusal)
    for _ in range(3):  # a block a round: as many as the free slots
        await rig.coordinator.step()
    assert len(session.sent) == 1
    assert job.counts()["failed"] == 9 and job.status is JobStatus.DONE
    assert {f.reason for f in job.failures} == {
        f"refused by every Giver ({session.giver_id}: image x:1 is not allowed)"
    }


async def test_a_retry_prefers_a_giver_that_has_not_failed_the_block(rig: Rig) -> None:
    job = await rig.job(range=[0, 1], block_size=1, retry_backoff_s=0)
    first = rig.giver(slots=1)
    await rig.coordinator.step()
    (assign,) = first.sent
    await rig.coordinator.on_message(
        first.giver_id, messages.Invalidate(assign.task.task_id, "parser crashed")
    )
    second = rig.giver(slots=1)
    await rig.coordinator.step()
    assert len(first.sent) == 1 and len(second.sent) == 1
    assert job.counts()["leased"] == 1


async def test_a_round_with_more_free_slots_than_it_may_fill_but_no_work_does_not_spin(
    rig: Rig,
) -> None:
    for _ in range(STEP_BATCH):
        rig.giver(slots=2)
    rounds = 0
    step = rig.coordinator.step

    async def counted_step() -> None:
        nonlocal rounds
        rounds += 1
        await step()

    rig.coordinator.step = counted_step  # type: ignore[method-assign]
    rig.coordinator.wake()
    runner = asyncio.create_task(rig.coordinator.run())
    try:
        await asyncio.sleep(0.3)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert rounds == 1


async def test_copies_go_to_distinct_givers_and_distinct_volunteers(rig: Rig) -> None:
    await rig.job(range=[0, 4], block_size=1, replicas=2)
    ann_home = rig.giver(slots=4, volunteer="ann")
    ann_work = rig.giver(slots=4, volunteer="ann")
    bob = rig.giver(slots=4)
    await rig.coordinator.step()
    holders: dict[str, list[str]] = {}
    for session in (ann_home, ann_work, bob):
        for task in assigned(session):
            holders.setdefault(block_of(task), []).append(session.giver_id)
    assert len(holders) == 4
    for givers in holders.values():
        assert len(givers) == 2 and bob.giver_id in givers


async def test_blocks_go_only_to_givers_that_can_run_them(rig: Rig) -> None:
    job = await rig.job(
        range=[0, 6],
        block_size=1,
        requires={"arch": "arm64", "labels": ["region=eu"], "exclude_labels": ["metered"]},
    )
    misfits = [
        rig.giver(slots=4, arch="amd64", labels={"region": "eu"}),
        rig.giver(slots=4, arch="arm64", labels={"region": "us"}),
        rig.giver(slots=4, arch="arm64", labels={"region": "eu", "metered": "yes"}),
    ]
    fit = rig.giver(slots=2, arch="arm64", labels={"region": "eu"})
    picky = await rig.job(range=[0, 1], requires={"min_memory_bytes": 2**40})
    await rig.coordinator.step()
    assert [s.sent for s in misfits] == [[], [], []] and len(assigned(fit)) == 2
    assert "waiting" not in rig.coordinator.job_view(job)
    waiting = rig.coordinator.job_view(picky)["waiting"]
    assert waiting.startswith("no online Giver can run this job (") and "MiB" in waiting


async def test_a_capability_report_makes_a_giver_eligible_and_a_cached_image_preferred(
    rig: Rig,
) -> None:
    await rig.job(range=[0, 1], requires={"labels": ["region=eu"]})
    moved = rig.giver(slots=1, labels={"region": "us"})
    await rig.coordinator.step()
    assert moved.sent == []
    caps = rig.registry.get(moved.giver_id).info.capabilities  # type: ignore[union-attr]
    report = messages.Report(replace(caps, labels={"region": "eu"}))
    await rig.coordinator.on_message(moved.giver_id, report)
    await rig.coordinator.step()
    assert len(assigned(moved)) == 1
    await rig.job(image="cached:1", range=[0, 1])
    bare = rig.giver(slots=1)
    cached = rig.giver(slots=1, images=("cached:1",))
    await rig.coordinator.step()
    assert (assigned(bare), len(assigned(cached))) == ([], 1)


async def test_each_giver_gets_the_image_for_its_architecture_or_none(rig: Rig) -> None:
    await rig.job(range=[0, 6], block_size=1, images={"amd64": "s:amd", "aarch64": "s:arm"})
    amd, arm = rig.giver(slots=2), rig.giver(slots=2, arch="arm64")
    v7 = rig.giver(slots=2, arch="arm/v7", images=("s:amd", "s:arm"))
    await rig.coordinator.step()
    assert [t.image for t in assigned(amd)] == ["s:amd", "s:amd"]
    assert [t.image for t in assigned(arm)] == ["s:arm", "s:arm"]
    assert v7.sent == []
    only_v6 = await rig.job(range=[0, 1], images={"arm/v6": "s:v6"})
    await rig.coordinator.step()
    waiting = rig.coordinator.job_view(only_v6)["waiting"]
    assert f"{v7.giver_id} is arm/v7, the job has images for arm/v6" in waiting
    assert rig.coordinator.job_view(only_v6)["image"] == "arm/v6=s:v6"


async def test_the_cached_image_and_the_trust_that_count_are_those_of_the_givers_arch(
    rig: Rig,
) -> None:
    images = {"amd64": "c:amd", "arm64": "c:arm"}
    await rig.job(range=[0, 1], images=images)
    misled = rig.giver(slots=1, images=("c:arm",))
    at_home = rig.giver(slots=1, arch="arm64", images=("c:arm",))
    await rig.coordinator.step()
    assert (misled.sent, [t.image for t in assigned(at_home)]) == ([], ["c:arm"])
    await rig.answer(at_home)
    await rig.coordinator.step()
    adaptive = {"trust_after": 1, "spot_check": 0}
    job = await rig.job(range=[0, 3], block_size=1, images=images, adaptive=adaptive)
    await rig.coordinator.step()
    for session in (misled, at_home):
        await rig.answer(session, {"price": 1})
    await rig.coordinator.step()
    assert rig.trust.get(misled.giver_id).trust == {"c:amd": 1}
    assert rig.trust.get(at_home.giver_id).trust == {"c:arm": 1}
    # Trusted with the image each runs, each Giver now takes a block alone.
    await rig.coordinator.step()
    assert len({block_of(t) for t in assigned(misled)[-1:] + assigned(at_home)[-1:]}) == 2
    assert job.counts()["done"] == 1


async def test_disagreeing_copies_get_an_extra_copy_then_fail_with_the_disagreement(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 1], replicas=2, max_extra_copies=1)
    a, b, c = (rig.giver(slots=1) for _ in range(3))
    await rig.coordinator.step()
    first = [s for s in (a, b, c) if assigned(s)]
    assert len(first) == 2
    for n, session in enumerate(first):
        await rig.answer(session, {"price": n})
    await rig.coordinator.step()
    await rig.coordinator.step()
    (third,) = [s for s in (a, b, c) if s not in first]
    assert len(assigned(third)) == 1 and job.counts()["leased"] == 1
    await rig.answer(third, {"price": 99})
    await rig.coordinator.step()
    assert job.status is JobStatus.DONE and job.counts()["failed"] == 1
    assert job.failures[0].reason.startswith("copies disagree (3 different results")


async def test_trust_is_earned_by_agreeing_lost_by_disagreeing_and_a_bad_giver_is_flagged(
    rig: Rig,
) -> None:
    job = await rig.job(
        range=[0, 12],
        block_size=1,
        replicas=3,
        quorum=2,
        adaptive={"trust_after": 2, "spot_check": 0},
    )
    honest = [rig.giver(slots=1) for _ in range(2)]
    liar = rig.giver(slots=1)
    for _ in range(2):
        await rig.coordinator.step()
        # The liar finishes first: were it last, the honest pair would decide without it.
        await rig.answer(liar, {"price": 666})
        for session in honest:
            await rig.answer(session, {"price": 1})
        await rig.coordinator.step()
    for session in honest:
        assert rig.trust.get(session.giver_id).trust == {"x:1": 2}
    record = rig.trust.get(liar.giver_id)
    assert record.trust == {"x:1": 0} and record.flagged.startswith("2 results in a row disagreed")
    view = givers_view(rig.coordinator)
    assert [f["giver_id"] for f in view["flagged"]] == [liar.giver_id]
    sent_to_liar = len(liar.sent)
    # Trusted Givers now run blocks alone; the flagged one gets nothing.
    await rig.coordinator.step()
    single = [t for s in honest for t in assigned(s)][-2:]
    assert len({block_of(t) for t in single}) == 2 and len(liar.sent) == sent_to_liar
    stored = {doc["giver_id"]: doc for doc in await rig.keys.store.givers()}
    assert stored[liar.giver_id]["flagged"] and job.counts()["done"] == 2


async def test_an_unreachable_giver_is_purged_and_its_leases_return_at_once(rig: Rig) -> None:
    job = await rig.job(range=[0, 2], block_size=1)
    gone = rig.giver(slots=2)
    await rig.coordinator.step()
    assert len(assigned(gone)) == 2
    gone.closed = True
    for _ in range(2):
        await rig.coordinator.step()
        assert rig.registry.get(gone.giver_id) is not None and job.counts()["leased"] == 2
    await rig.coordinator.step()
    assert rig.registry.get(gone.giver_id) is None and rig.keys.leases == {}
    assert [p["giver_id"] for p in givers_view(rig.coordinator)["purged"]] == [gone.giver_id]
    back = rig.giver(slots=2, identity=rig.identities[gone.giver_id])
    await rig.coordinator.step()
    assert len(assigned(back)) == 2 and job.counts()["leased"] == 2


async def test_a_slow_copy_near_the_end_of_a_job_is_doubled_and_the_first_result_wins(
    rig: Rig,
) -> None:
    job = await rig.job(range=[0, 10], block_size=10)
    slow = rig.giver(slots=1)
    rig.trust.succeeded(slow.giver_id, seconds=1000.0, keys=10)
    await rig.coordinator.step()
    (original,) = assigned(slow)
    fast = rig.giver(slots=1)
    rig.trust.succeeded(fast.giver_id, seconds=0.0001, keys=10)
    await rig.coordinator.step()
    (copy,) = assigned(fast)
    assert block_of(copy) == block_of(original) and copy.task_id != original.task_id
    await rig.answer(fast)
    await rig.coordinator.step()
    assert job.status is JobStatus.DONE and job.counts()["done"] == 10
    assert slow.sent[-1] == messages.Cancel(original.task_id)


async def test_a_giver_that_takes_no_message_holds_up_no_other_givers_assign(
    rig: Rig,
) -> None:
    job = await rig.job(block_size=10)
    stuck = rig.giver(slots=1, stuck=True)
    others = [rig.giver(slots=1) for _ in range(2)]
    step = asyncio.create_task(rig.coordinator.step())
    await asyncio.gather(*(session.received.wait() for session in others))
    assert not step.done() and rig.leases_of(job) == 3
    assert isinstance(stuck, StuckSession)
    stuck.unstick.set()
    await step
    assert [len(assigned(session)) for session in rig.sessions] == [1, 1, 1]


async def test_a_giver_stuck_past_the_send_timeout_gets_its_lease_taken_back_alone(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "SEND_TIMEOUT_S", 0.1)
    job = await rig.job(block_size=10)
    stuck = rig.giver(slots=2, stuck=True)
    others = [rig.giver(slots=1) for _ in range(2)]
    await rig.coordinator.step()
    assert stuck.closed and assigned(stuck) == []
    assert all(len(assigned(session)) == 1 for session in others)
    held = {ref.giver_id for ref in rig.keys.leases.values()}
    assert held == {s.giver_id for s in others} and rig.leases_of(job) == 2


async def test_a_rounds_leases_are_stored_before_any_assign_and_outlive_a_restart(
    rig: Rig,
) -> None:
    job = await rig.job(block_size=10)
    sessions = [rig.giver(slots=2) for _ in range(3)]
    stored_when_sent: list[bool] = []

    async def send(session: RecordingSession, message: messages.Message) -> None:
        if isinstance(message, messages.Assign):
            block = await rig.keys.block_of(message.task.task_id)
            held = block is not None and block.holder(message.task.task_id)
            stored_when_sent.append(held == session.giver_id)
        session.sent.append(message)

    for session in sessions:
        session.send = partial(send, session)  # type: ignore[method-assign]
    await rig.coordinator.step()
    sent = {task.task_id for session in sessions for task in assigned(session)}
    assert len(sent) == 6 and stored_when_sent == [True] * 6

    restarted = KeyManager(rig.keys.store, rig.keys.channel, lease_grace_s=10)
    await restarted.load(time.time())
    assert set(restarted.leases) == sent
    assert restarted.jobs[job.job_id].counts()["leased"] == 60
