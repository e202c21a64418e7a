"""The key manager's test rig: a KeyManager on real stores, Givers with their own
keys, and the steps of a job's life. The clock is passed in, so lapses and
backoffs are tested without waiting."""

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channel.store.base import Channel
from channel.wire.identity import Identity
from channel.wire.models import Task
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result
from seeker.work.blocks import Block
from seeker.work.intake import create_job
from seeker.work.jobs import Job
from seeker.work.manager import KeyManager
from seeker.work.spec import parse_job

GRACE_S = 10.0
NOW = 1_000_000.0


@dataclass
class Rig:
    keys: KeyManager
    channel: Channel
    scratch: Path
    state_url: str
    givers: dict[str, Identity]

    async def job(self, **body: Any) -> Job:
        spec = parse_job({"image": "x:1", "limits": {"timeout_s": 100}, **body})
        return await create_job(self.keys, spec, scratch_dir=self.scratch)

    async def lease(self, job: Job, giver: str, now: float = NOW) -> Task:
        (block,) = await self.keys.ready(job, now, 1)
        task = await lease_one(self.keys, job, block, self.givers[giver].id, now)
        assert task is not None
        return task

    async def report(
        self,
        task: Task,
        giver: str,
        failed: dict[str, str] | None = None,
        post: bool = True,
        keys: list[str] | None = None,
        **extra: Any,
    ) -> Result:
        """A signed result for `task`, every key ok but `failed`, with records for the
        keys ok (or for `keys`), posted to the Channel unless `post` is false."""
        failed = failed or {}
        ok = [k for k in task.block if k not in failed] if keys is None else keys
        identity = self.givers[giver]
        result = sign_result(
            identity,
            Result(
                result_id=uuid.uuid4().hex,
                task_id=task.task_id,
                job_id=task.job_id,
                giver_id=identity.id,
                records=[
                    {"key": k, "data": {"page": k, "links": [f"{k}/1", f"{k}/2"]}} for k in ok
                ],
                outcomes=[KeyOutcome(k, k not in failed, failed.get(k)) for k in task.block],
                error=None,
                started_at=NOW,
                finished_at=NOW,
                **extra,
            ),
        )
        if post:
            await self.channel.put_result(result)
        return result

    async def complete(self, job: Job, giver: str, now: float = NOW) -> Task:
        task = await self.lease(job, giver, now)
        assert await self.keys.apply(await self.report(task, giver), now)
        return task


async def lease_one(
    keys: KeyManager, job: Job, block: Block, giver_id: str, now: float = NOW, **round: Any
) -> Task | None:
    """Lease a copy of `block` to a Giver (as the coordinator does, a lot of one)."""
    offer = keys.offer(job, block, giver_id, now, image="x:1", **round)
    return None if offer is None else (await keys.lease_all([offer]))[0]
