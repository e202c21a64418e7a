"""A job's blocks as the job-detail page and the API show them: state, keys,
the leases out now, the Givers that ran each block and their results' digests,
and the blocks whose copies disagreed.

Each view reads one page of blocks from the state store, the leases and
Givers the Seeker holds in memory, and (for the blocks' runs) the digests of
the results from the Channel: one query each.
"""

import time
from collections.abc import Callable
from typing import Any

from channel.store.base import Channel
from channel.wire import canonical
from channel.wire.models import KeyBlock
from seeker.errors import UnknownBlock
from seeker.grid.coordinator import Coordinator
from seeker.work.blocks import Block, block_id
from seeker.work.choice import disagreement
from seeker.work.history import BlockStatus, Role, Run
from seeker.work.jobs import Job
from seeker.work.ledger import LeaseRef

Names = Callable[[str], str]


async def blocks_page(
    coordinator: Coordinator, job_id: str, after: int, limit: int
) -> dict[str, Any]:
    """Up to `limit` of a job's blocks after seq `after`, in seq order; `next` is
    the cursor for the page after, None at the last block. A job of ranges has
    only the blocks cut so far (its `blocks` says how many it will have)."""
    keys = coordinator.keys
    job = await keys.job(job_id)
    blocks = [Block.from_doc(doc) for doc in await keys.store.job_blocks(job_id, after, limit)]
    digests = await _records_digests(keys.channel, blocks)
    now = time.time()
    return {
        "job_id": job_id,
        "blocks": [
            block_view(block, job, now, giver_names(coordinator), keys.leases, digests)
            for block in blocks
        ],
        "next": blocks[-1].seq if len(blocks) == limit else None,
    }


async def one_block(coordinator: Coordinator, job_id: str, seq: int) -> dict[str, Any]:
    """Block `seq` of a job, as a page of blocks shows it."""
    keys = coordinator.keys
    job = await keys.job(job_id)
    doc = await keys.store.block(block_id(job_id, seq))
    if doc is None:
        raise UnknownBlock(block_id(job_id, seq))
    block = Block.from_doc(doc)
    digests = await _records_digests(keys.channel, [block])
    return block_view(block, job, time.time(), giver_names(coordinator), keys.leases, digests)


async def disagreements_page(
    coordinator: Coordinator, job_id: str, after: int, limit: int
) -> dict[str, Any]:
    """Up to `limit` of a job's blocks after seq `after` whose copies disagreed."""
    keys = coordinator.keys
    await keys.job(job_id)
    docs = await keys.store.disputed_blocks(job_id, after, limit)
    blocks = [Block.from_doc(doc) for doc in docs]
    return {
        "job_id": job_id,
        "disagreements": [disagreement_view(block, giver_names(coordinator)) for block in blocks],
        "next": blocks[-1].seq if len(blocks) == limit else None,
    }


def giver_names(coordinator: Coordinator) -> Names:
    """A Giver's name by its id; "" for one no longer registered."""

    def name(giver_id: str) -> str:
        entry = coordinator.registry.get(giver_id)
        return entry.info.name if entry is not None else ""

    return name


async def _records_digests(channel: Channel, blocks: list[Block]) -> dict[str, str]:
    """The records digest of each result the blocks' runs name, by result id."""
    wanted = {
        run.task_id: run.result_id
        for block in blocks
        for run in (*block.runs, *block.votes)
        if run.result_id
    }
    digests = {}
    for row in await channel.result_rows(wanted):
        if wanted[row.task_id] == row.result_id:
            digests[row.result_id] = canonical.loads(row.header)["digest"]
    return digests


def block_view(
    block: Block,
    job: Job,
    now: float,
    names: Names,
    leases: dict[str, LeaseRef],
    digests: dict[str, str],
) -> dict[str, Any]:
    """One block: its state, keys and tally, the copies out now, and every run and
    result in of it."""
    max_attempts = job.spec.max_attempts
    status = block.status(max_attempts)
    tally = block.tally(max_attempts)
    retry_at = block.ready_at(max_attempts, job.spec.retry_backoff_s)
    rnd = block.round
    return {
        "block_id": block.block_id,
        "seq": block.seq,
        "state": status.value,
        "retry_at": retry_at if status is BlockStatus.PENDING and retry_at > now else None,
        "keys": keys_view(block.keys),
        "tally": {
            "done": tally.done,
            "failed": tally.failed,
            "leased": tally.leased,
            "pending": tally.pending,
        },
        "attempts": sum(run.counts for run in block.runs),
        "issued": block.issued,
        "round": None
        if rnd is None
        else {
            "keys": len(rnd.keys),
            "quorum": rnd.quorum,
            "wanted": rnd.wanted,
            "extra": rnd.extra,
            "tailed": rnd.tailed,
        },
        "leases": [
            {
                "task_id": lease.task_id,
                "giver_id": lease.giver_id,
                "giver_name": names(lease.giver_id),
                "role": "primary" if lease.task_id == _first_of_round(block) else "copy",
                "leased_at": lease.leased_at,
                "deadline": lease.deadline,
                "progress": ref.progress if (ref := leases.get(lease.task_id)) else 0,
                "keys": len(lease.keys),
            }
            for lease in block.copies
        ],
        "runs": [_run_view(run, run.role.value, names, digests) for run in block.runs]
        + [_run_view(vote, "waiting", names, digests) for vote in block.votes],
        "givers": [{"giver_id": g, "giver_name": names(g)} for g in block.givers()],
        "refused": [
            {"giver_id": g, "giver_name": names(g), "reason": reason}
            for g, reason in block.refused.items()
        ],
        "shunned": list(block.shunned),
    }


def keys_view(keys: KeyBlock) -> dict[str, Any]:
    """How many keys, and their range, or the first and the last of the list."""
    if keys.start is not None:
        return {"count": len(keys), "range": [keys.start, keys.stop]}
    return {"count": len(keys), "first": keys.keys[0], "last": keys.keys[-1]}


def _task_number(task_id: str) -> int:
    return int(task_id.rpartition(".")[2])


def _first_of_round(block: Block) -> str:
    """The task id of the round's earliest copy still out or in: its primary."""
    ids = [lease.task_id for lease in block.copies] + [vote.task_id for vote in block.votes]
    return min(ids, key=_task_number, default="")


def _run_view(run: Run, role: str, names: Names, digests: dict[str, str]) -> dict[str, Any]:
    return {
        "task_id": run.task_id,
        "giver_id": run.giver_id,
        "giver_name": names(run.giver_id) if run.giver_id else "",
        "role": role,
        "at": run.at,
        "result_id": run.result_id,
        "keys": len(run.keys),
        "failed": len(run.failed),
        "final": run.final,
        "digest": run.digest,
        "records_digest": digests.get(run.result_id or "", ""),
    }


def disagreement_view(block: Block, names: Names) -> dict[str, Any]:
    """A block whose copies disagreed: each copy compared (its Giver, digest and
    role), the copy chosen if one was, and why the others were not.

    `outcome` is `undecided` while the results of the round under way differ,
    `failed` once a round's copies could not agree (its keys failed for good,
    `reason` says how), else `chosen`.
    """
    compared = [
        (run, run.role.value)
        for run in block.runs
        if run.giver_id and (run.digest or run.role is not Role.CHOSEN)
    ] + [(vote, "waiting") for vote in block.votes]
    chosen = next((run for run, role in reversed(compared) if role == "chosen"), None)
    dispute = block.dispute()
    described = disagreement([(run.giver_id, run.digest) for run, _ in compared])
    if len({vote.digest for vote in block.votes}) > 1:
        outcome, reason = "undecided", f"{described}; waiting for more copies"
    elif dispute is not None:
        outcome, reason = "failed", next(iter(dispute.failed.values()))
    else:
        outcome, reason = "chosen", described
    return {
        "block_id": block.block_id,
        "seq": block.seq,
        "outcome": outcome,
        "reason": reason,
        "copies": [
            {
                "task_id": run.task_id,
                "giver_id": run.giver_id,
                "giver_name": names(run.giver_id),
                "role": role,
                "digest": run.digest,
                "at": run.at,
                "result_id": run.result_id,
            }
            for run, role in compared
        ],
        "chosen": None
        if chosen is None
        else {"task_id": chosen.task_id, "giver_id": chosen.giver_id, "digest": chosen.digest},
    }
