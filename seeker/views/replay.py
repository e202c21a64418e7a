"""What replaying a failed key takes, for its scraper's author: the task its
container got (its `/input/task.json`, to the byte), the image that ran (its
reference and id), the job's settings, network and limits, and the log the
Giver sent back with the failure; and the logs of a job's latest failures, for
its detail page.

A key's failure is the latest run of its block in which the key failed; the
header of that run's result (in the Channel) holds the log. `seeker replay`
finds the key's block by reading the job's blocks in order; the detail page's
failures name theirs.
"""

from typing import Any

from channel.store.base import Channel
from channel.wire import canonical
from channel.wire.sandbox import task_input
from seeker.errors import NotReplayable, UnknownKey
from seeker.grid.coordinator import Coordinator
from seeker.work.blocks import Block
from seeker.work.history import Run
from seeker.work.jobs import Failure


async def replay_view(coordinator: Coordinator, job_id: str, key: str) -> dict[str, Any]:
    """How to replay `key` of job `job_id`: UnknownJob, UnknownKey, or NotReplayable
    if it has not failed or its failure brought back no log."""
    keys = coordinator.keys
    job = await keys.job(job_id)
    block = await _block_holding(coordinator, job_id, key)
    run = _failed_run(block, key)
    if run is None:
        raise NotReplayable(job_id, key, "has not failed; only a failed key can be replayed")
    header = (await _headers(keys.channel, [run])).get(run.task_id, {})
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


async def failure_logs(coordinator: Coordinator, failures: list[Failure]) -> dict[Failure, str]:
    """The log each failure brought back; a failure without one is left out."""
    store = coordinator.keys.store
    runs: dict[Failure, Run] = {}
    for block_id in {failure.block_id for failure in failures}:
        doc = await store.block(block_id)
        if doc is None:
            continue
        block = Block.from_doc(doc)
        for failure in failures:
            if failure.block_id == block_id and (run := _failed_run(block, failure.key)):
                runs[failure] = run
    headers = await _headers(coordinator.keys.channel, list(runs.values()))
    logs = {failure: headers.get(run.task_id, {}).get("log", "") for failure, run in runs.items()}
    return {failure: log for failure, log in logs.items() if log}


def _failed_run(block: Block, key: str) -> Run | None:
    """The latest run of `block` in which `key` failed, if it failed."""
    failed = [run for run in (*block.runs, *block.votes) if key in run.failed]
    return max(failed, key=lambda run: run.at, default=None)


async def _headers(channel: Channel, runs: list[Run]) -> dict[str, dict[str, Any]]:
    """The signed headers of the runs' results, by task id; a result gone (expired)
    or a run without one (invalidated) is left out."""
    wanted = {run.task_id: run.result_id for run in runs if run.result_id}
    headers = {}
    for row in await channel.result_rows(wanted):
        if wanted[row.task_id] == row.result_id:
            headers[row.task_id] = canonical.loads(row.header)
    return headers
