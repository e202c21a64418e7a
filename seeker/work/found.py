"""Keys a job's scrapers discover, added to the job: each once, at most the job's cap.

A job that takes discovered keys claims every key in the state store, its
seed keys when it is created and each discovered key as a counted result
brings it, with the seq of the block the key goes to (`StateStore.claim_keys`:
an insert-if-absent write a key). A key already claimed is a duplicate and
is dropped; past `max_discovered` keys, the rest are dropped too. The claimed
keys then become blocks after the job's last, and the job grows by them.

Claims are written before their blocks, and the keys of a counted result are
added before the result counts, so a Seeker stopped in between neither loses
nor repeats a key: the result is counted again after the restart (its
already-claimed keys are duplicates then), and keys claimed for blocks that
were never written are cut into blocks first, by `recover`, on load and before
each addition.
"""

import logging
from collections.abc import Iterable
from itertools import groupby

from channel.wire.models import KeyBlock
from seeker.state.base import StateStore
from seeker.work.blocks import Block
from seeker.work.history import Tally
from seeker.work.jobs import Job

log = logging.getLogger(__name__)


async def claim_seeds(store: StateStore, job_id: str, seq: int, keys: tuple[str, ...]) -> None:
    """Claim a new job's keys of block `seq`, so a discovered key repeating one is
    dropped."""
    await store.claim_keys(job_id, list(keys), seq, len(keys), len(keys))


async def add(store: StateStore, job: Job, keys: Iterable[str]) -> int:
    """Add `keys` the job has not seen, within its cap, as new blocks; how many."""
    await recover(store, job)
    room = job.spec.max_discovered - job.discovered
    keys = list(keys)
    if not keys or room <= 0:
        if keys:
            log.debug("job %s: %d discovered key(s) over its cap dropped", job.job_id, len(keys))
        return 0
    claimed = await store.claim_keys(job.job_id, keys, job.block_count, job.spec.block_size, room)
    job.discovered += len(claimed)
    added = await _cut(store, job, claimed)
    log.info(
        "job %s: %d of %d discovered key(s) added (%d of at most %d so far)",
        job.job_id,
        added,
        len(keys),
        job.discovered,
        job.spec.max_discovered,
    )
    return added


async def recover(store: StateStore, job: Job) -> None:
    """Cut into blocks the keys the job claimed for blocks it never wrote."""
    orphans = await store.claimed_keys(job.job_id, job.block_count)
    if orphans:
        added = await _cut(store, job, orphans)
        log.info("job %s: %d claimed key(s) without a block put in blocks", job.job_id, added)


async def _cut(store: StateStore, job: Job, claimed: list[tuple[str, int]]) -> int:
    """Store `claimed` keys as blocks by their seq and grow the job by them."""
    if not claimed:
        return 0
    spec = job.spec
    blocks = [
        Block(job.job_id, seq, KeyBlock(keys=tuple(key for key, _ in group)))
        for seq, group in groupby(claimed, key=lambda claim: claim[1])
    ]
    await store.insert_blocks([b.to_doc(spec.max_attempts, spec.retry_backoff_s) for b in blocks])
    added = sum(len(b.keys) for b in blocks)
    job.block_count = job.next_seq = blocks[-1].seq + 1
    job.total += added
    job.tally += Tally(pending=added)
    await store.put_job(job.to_doc())
    return added
