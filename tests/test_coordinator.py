"""The coordinator's placement rules on a real state store, with Givers that only
record what they are sent (the session itself is tested end to end elsewhere)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from channel import messages
from channel.factory import open_channel
from channel.identity import Identity
from channel.models import Capabilities, GiverInfo, KeyOutcome, Result, Task
from channel.signing import sign_result
from seeker.coordinator import STEP_BATCH, Coordinator
from seeker.givers import GiverRegistry
from seeker.intake import create_job
from seeker.jobs import Job, JobStatus
from seeker.spec import parse_job
from seeker.state.factory import open_state
from seeker.trust import TrustBook
from seeker.work import KeyManager


class RecordingSession:
    """Stands in for a Giver's WebSocket: keeps what the coordinator sends."""

    def __init__(self, giver_id: str) -> None:
        self.giver_id = giver_id
        self.closed = False
        self.sent: list[messages.Message] = []

    async def send(self, message: messages.Message) -> None:
        self.sent.append(message)

    async def close(self) -> None:
        self.closed = True


class Rig:
    def __init__(self, keys: KeyManager, scratch: Path) -> None:
        self.keys, self.scratch = keys, scratch
        self.registry = GiverRegistry()
        self.coordinator = Coordinator(keys, self.registry, TrustBook(), poll_interval_s=1)
        self.sessions: list[RecordingSession] = []

    async def job(self, **body: Any) -> Job:
        spec = parse_job({"image": "x:1", "range": [0, 10_000], **body})
        return await create_job(self.keys, spec, scratch_dir=self.scratch)

    def giver(self, slots: int = 2, identity: Identity | None = None) -> RecordingSession:
        identity = identity or Identity.generate()
        caps = Capabilities(
            cpus=2, memory_bytes=2**30, arch="amd64", os="linux", docker_version="20", slots=slots
        )
        info = GiverInfo(identity.id, identity.public_key, "g", caps, signed_at=0.0)
        self.registry.register(info)
        session = RecordingSession(identity.id)
        self.coordinator.attach(session)  # type: ignore[arg-type]
        self.sessions.append(session)
        return session

    def leases_of(self, job: Job) -> int:
        return sum(1 for ref in self.keys.leases.values() if ref.job_id == job.job_id)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with AsyncExitStack() as stack:
        channel = await stack.enter_async_context(
            await open_channel(f"sqlite:///{tmp_path}/channel.sqlite3")
        )
        state = await open_state(f"sqlite:///{tmp_path}/seeker.sqlite3")
        stack.push_async_callback(state.close)
        yield Rig(KeyManager(state, channel, lease_grace_s=10), tmp_path / "scratch")


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
        await rig.keys.channel.put_result(signed(stranger, task, f"0{n:04d}"))
    await rig.keys.channel.put_result(signed(holder, task, "9"))
    await rig.coordinator.step()
    assert job.counts()["done"] == 2 and job.status is JobStatus.DONE


def signed(identity: Identity, task: Task, result_id: str) -> Result:
    keys = list(task.block)
    return sign_result(
        identity,
        Result(
            result_id=result_id,
            task_id=task.task_id,
            job_id=task.job_id,
            giver_id=identity.id,
            records=[{"key": k, "data": {}} for k in keys],
            outcomes=[KeyOutcome(k, True) for k in keys],
            error=None,
            started_at=0.0,
            finished_at=0.0,
        ),
    )
