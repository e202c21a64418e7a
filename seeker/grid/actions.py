"""What an operator does to jobs and Givers, as plain functions: the JSON API's
handlers and the admin pages' both call these, so a page's action and its API
endpoint behave alike."""

import logging
import time
from pathlib import Path
from typing import Any

from seeker.catalog.store import Catalog
from seeker.errors import UnknownBlock
from seeker.grid.admission import Admissions
from seeker.grid.coordinator import Coordinator
from seeker.work.intake import create_job
from seeker.work.jobs import Job, JobStatus
from seeker.work.spec import JobSpec, parse_job

log = logging.getLogger(__name__)

STATUS_OF_ACTION = {
    "pause": JobStatus.PAUSED,
    "resume": JobStatus.RUNNING,
    "cancel": JobStatus.CANCELLED,
}


async def submit(
    coordinator: Coordinator, catalog: Catalog, body: Any, *, scratch_dir: Path
) -> Job:
    """Create the job a JSON body describes, its keys in the body."""
    spec = await job_spec(catalog, body)
    return await make_job(coordinator, spec, scratch_dir=scratch_dir)


async def job_spec(catalog: Catalog, body: Any, *, keys_file: bool = False) -> JobSpec:
    """What a submission asks for: a JSON body naming a catalog scraper (resolved to
    its images, its settings checked against its schema) or its images; with
    `keys_file`, its keys come as a file beside it. InvalidJob names the field."""
    if isinstance(body, dict):
        body = await catalog.resolve(body)
    return parse_job(body, keys_file=keys_file)


async def make_job(
    coordinator: Coordinator,
    spec: JobSpec,
    *,
    scratch_dir: Path,
    keys_file: Path | None = None,
    job_id: str | None = None,
) -> Job:
    """Create the job `spec` describes and wake the coordinator: the one way a job is
    made, whether the API, the admin pages or a schedule's tick asks. With `job_id`
    (a tick names its job) an existing job of that id is returned as it is."""
    job = await create_job(
        coordinator.keys, spec, scratch_dir=scratch_dir, keys_file=keys_file, job_id=job_id
    )
    coordinator.wake()
    return job


async def steer(coordinator: Coordinator, job_id: str, action: str) -> Job:
    """Pause, resume or cancel a job (`action` a key of STATUS_OF_ACTION); a cancel
    stops its leased tasks."""
    taken = await coordinator.keys.set_status(job_id, STATUS_OF_ACTION[action], time.time())
    await coordinator.cancel(taken)
    coordinator.wake()
    return await coordinator.keys.job(job_id)


async def delete_job(coordinator: Coordinator, job_id: str) -> Job:
    """Delete a done or cancelled job, its blocks, and its results in the Channel
    unless its retention keeps them (seeker.work.steering); the job as it was."""
    return await coordinator.keys.delete(job_id)


async def invalidate_block(coordinator: Coordinator, job_id: str, seq: str) -> Job:
    """Put block `seq` of a job back in the pool, whatever it returned so far."""
    if not seq.isdigit():
        raise UnknownBlock(f"{job_id}-{seq}")
    taken = await coordinator.keys.invalidate_block(job_id, int(seq), time.time())
    await coordinator.cancel(taken)
    coordinator.wake()
    return await coordinator.keys.job(job_id)


async def invalidate_giver(coordinator: Coordinator, giver_id: str, since: float) -> dict[str, Any]:
    """Discard what a Giver reported since `since` (epoch seconds; 0 for ever); it
    earns its trust again."""
    blocks, taken = await coordinator.keys.invalidate_giver(giver_id, since, time.time())
    coordinator.trust.distrust(giver_id)
    await coordinator.cancel(taken)
    coordinator.wake()
    log.warning(
        "giver %s invalidated since %s: %d block(s) back in the pool", giver_id, since, blocks
    )
    return {"giver_id": giver_id, "blocks": blocks, "leases": len(taken)}


async def revoke_giver(
    admissions: Admissions, coordinator: Coordinator, giver_id: str
) -> dict[str, Any]:
    """Forget a Giver's admission (or drop it from the pending list), take back its
    tasks and close its session."""
    await admissions.revoke(giver_id)
    taken = await coordinator.revoke(giver_id)
    return {"giver_id": giver_id, "admitted": False, "leases": len(taken)}


async def unflag_giver(coordinator: Coordinator, giver_id: str) -> bool:
    """Clear a flagged Giver: it gets work again and earns its trust afresh. False
    if it was not flagged."""
    if not coordinator.trust.unflag(giver_id):
        return False
    await coordinator.flush_trust()
    coordinator.wake()
    return True
