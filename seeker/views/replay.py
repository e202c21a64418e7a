"""What replaying a failed key takes, for its scraper's author: the task its
container got (its `/input/task.json`, to the byte), the image that ran (its
reference and id), the job's settings, network and limits, and the log the
Giver sent back with the failure.

The key's block is found by reading the job's blocks in order; the failure
replayed is the latest run of that block in which the key failed with a
result, whose header (in the Channel) holds the log.
"""

from typing import Any

from channel.store.base import Channel
from channel.wire import canonical
from channel.wire.sandbox import task_input
from seeker.errors import NotReplayable, UnknownKey
from seeker.grid.coordinator import Coordinator
from seeker.work.blocks import Block
from seeker.work.history import Run


async def replay_view(coordinator: Coordinator, job_id: str, key: str) -> dict[str, Any]:
    """How to replay `key` of job `job_id`: UnknownJob, UnknownKey, or NotReplayable
    if it has not failed or its failure brought back no log."""
    keys = coordinator.keys
    job = keys.job(job_id)
    block = await _block_holding(coordinator, job_id, key)
    failed = [run for run in (*block.runs, *block.votes) if key in run.failed]
    if not failed:
        raise NotReplayable(job_id, key, "has not failed; only a failed key can be replayed")
    run = max(failed, key=lambda r: r.at)
    header = await _header(keys.channel, run)
    log = header.get("log", "")
    if not log:
        raise NotReplayable(
            job_id,
            key,
            f"failed ({run.failed[key]}) but no log came back with it: its Giver found the "
            "output untrusted, predates failure logs, or the result has expired",
        )
    images = coordinator.images_run_by(run.giver_id, job)
    task = job.task(run.task_id, run.keys, images[0] if len(images) == 1 else "")
    return {
        "job_id": job_id,
        "key": key,
        "block_id": block.block_id,
        "task_id": run.task_id,
        "result_id": run.result_id,
        "giver_id": run.giver_id,
        "at": run.at,
        "reason": run.failed[key],
        "image": task.image,
        "images": images,
        "image_id": header.get("image_id", ""),
        "settings": job.spec.settings,
        "network": task.network,
        "limits": task.limits.to_wire(),
        "task": task_input(task),
        "log": log,
    }


async def _block_holding(coordinator: Coordinator, job_id: str, key: str) -> Block:
    async for block in coordinator.keys.blocks(job_id):
        if key in block.keys:
            return block
    raise UnknownKey(job_id, key)


async def _header(channel: Channel, run: Run) -> dict[str, Any]:
    """The signed header of the run's result; empty if it is gone (expired)."""
    for row in await channel.result_rows([run.task_id]):
        if row.result_id == run.result_id:
            header: dict[str, Any] = canonical.loads(row.header)
            return header
    return {}
