"""The coordinator's test rig: a Coordinator over a real key manager and SQLite
stores, with Givers that only record what they are sent, and the results they
post signed as a Giver signs them."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from channel.store.factory import open_channel
from channel.wire import messages
from channel.wire.givers import Capabilities, GiverInfo
from channel.wire.identity import Identity
from channel.wire.models import Task
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result
from seeker.grid.coordinator import Coordinator, Watch
from seeker.grid.registry import GiverRegistry
from seeker.grid.trust import TrustBook
from seeker.state.factory import open_state
from seeker.work.intake import create_job
from seeker.work.jobs import Job
from seeker.work.manager import KeyManager
from seeker.work.spec import parse_job


class RecordingSession:
    """Stands in for a Giver's WebSocket: keeps what the coordinator sends."""

    def __init__(self, giver_id: str) -> None:
        self.giver_id = giver_id
        self.closed = False
        self.sent: list[messages.Message] = []
        self.received = asyncio.Event()

    async def send(self, message: messages.Message) -> None:
        self.sent.append(message)
        self.received.set()

    async def close(self) -> None:
        self.closed = True


class StuckSession(RecordingSession):
    """A Giver's WebSocket that takes no message until `unstick` is set."""

    def __init__(self, giver_id: str) -> None:
        super().__init__(giver_id)
        self.unstick = asyncio.Event()

    async def send(self, message: messages.Message) -> None:
        await self.unstick.wait()
        await super().send(message)


class Rig:
    def __init__(self, keys: KeyManager, scratch: Path) -> None:
        self.keys, self.scratch = keys, scratch
        self.registry = GiverRegistry()
        self.trust = TrustBook(flag_after=2)
        self.coordinator = Coordinator(
            keys,
            self.registry,
            self.trust,
            identity=Identity.generate(),
            poll_interval_s=1,
            watch=Watch(purge_after=3, contact_interval_s=0),
        )
        self.sessions: list[RecordingSession] = []
        self.identities: dict[str, Identity] = {}
        self.answered: set[str] = set()

    async def job(self, **body: Any) -> Job:
        image = {} if "images" in body else {"image": "x:1"}
        spec = parse_job({**image, "range": [0, 10_000], **body})
        return await create_job(self.keys, spec, scratch_dir=self.scratch)

    def giver(
        self,
        slots: int = 2,
        identity: Identity | None = None,
        *,
        volunteer: str = "",
        stuck: bool = False,
        **capabilities: Any,
    ) -> RecordingSession:
        identity = identity or Identity.generate()
        self.identities[identity.id] = identity
        caps = Capabilities(
            **{
                "cpus": 2,
                "memory_bytes": 2**30,
                "arch": "amd64",
                "os": "linux",
                "docker_version": "20",
                "slots": slots,
                **capabilities,
            }
        )
        info = GiverInfo(identity.id, identity.public_key, "g", caps, 0.0, volunteer)
        self.registry.register(info)
        session = (StuckSession if stuck else RecordingSession)(identity.id)
        self.coordinator.attach(session)  # type: ignore[arg-type]
        self.sessions.append(session)
        return session

    async def answer(self, session: RecordingSession, data: dict[str, Any] | None = None) -> int:
        """Post a result for every task `session` was assigned and has not answered."""
        identity = self.identities[session.giver_id]
        await self.keys.channel.register_giver(identity.id, identity.public_key)
        tasks = [
            m.task
            for m in session.sent
            if isinstance(m, messages.Assign) and m.task.task_id not in self.answered
        ]
        for task in tasks:
            self.answered.add(task.task_id)
            await self.post(identity, task, task.task_id, data)
        return len(tasks)

    async def post(
        self, identity: Identity, task: Task, result_id: str, data: dict[str, Any] | None = None
    ) -> None:
        """Post a result to the Channel and say so, as a Giver does."""
        await self.keys.channel.put_result(signed(identity, task, result_id, data))
        await self.coordinator.on_message(identity.id, messages.Done(task.task_id, result_id))

    def leases_of(self, job: Job) -> int:
        return sum(1 for ref in self.keys.leases.values() if ref.job_id == job.job_id)


@asynccontextmanager
async def open_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A Rig on SQLite stores in `tmp_path`, closed after."""
    async with AsyncExitStack() as stack:
        channel = await stack.enter_async_context(
            await open_channel(f"sqlite:///{tmp_path}/channel.sqlite3")
        )
        state = await open_state(f"sqlite:///{tmp_path}/seeker.sqlite3")
        stack.push_async_callback(state.close)
        yield Rig(KeyManager(state, channel, lease_grace_s=10), tmp_path / "scratch")


def signed(
    identity: Identity, task: Task, result_id: str, data: dict[str, Any] | None = None
) -> Result:
    keys = list(task.block)
    now = time.time()
    return sign_result(
        identity,
        Result(
            result_id=result_id,
            task_id=task.task_id,
            job_id=task.job_id,
            giver_id=identity.id,
            records=[{"key": k, "data": data or {}} for k in keys],
            outcomes=[KeyOutcome(k, True) for k in keys],
            error=None,
            started_at=now,
            finished_at=now,
        ),
    )


def assigned(session: RecordingSession) -> list[Task]:
    return [m.task for m in session.sent if isinstance(m, messages.Assign)]


def block_of(task: Task) -> str:
    return task.task_id.rpartition(".")[0]
