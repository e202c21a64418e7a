"""The indexes of the MongoDB state store's jobs, and of its blocks, the one
collection whose indexes depend on the server: partial where it has partial
indexes (MongoDB), whole where it does not (FerretDB 1.x), decided once at open."""

import logging
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from channel.store.mongoclient import keep_indexes, lacks_option

log = logging.getLogger(__name__)

PENDING = "pending"
# The blocks' indexes of earlier releases that `block_indexes` replaces.
REPLACED_BLOCK_INDEXES = ("status_1_job_id_1_seq_1", "givers_1")


def index(*keys: str, **options: Any) -> IndexModel:
    """An ascending index on `keys`, in order, with PyMongo's `options`."""
    return IndexModel([(key, ASCENDING) for key in keys], **options)


# The jobs' indexes: by creation (pages of jobs), by status (counts) and by finish
# time (the jobs a leader holds).
JOB_INDEXES = [index("created_at", "_id"), index("status"), index("finished_at")]


def block_indexes(partial: bool) -> list[IndexModel]:
    """The indexes of `blocks`: by job and seq, by Giver, and the two the Seeker
    asks most of, pending blocks (what it leases next) and disputed ones. Where
    the server has partial indexes (`partial`) those two hold only such blocks,
    so they stay as small as the work in flight instead of growing with every
    block ever cut; elsewhere they hold every block."""

    def only(**match: Any) -> dict[str, Any]:
        return {"partialFilterExpression": match} if partial else {}

    return [
        index("job_id", "seq"),
        index("givers", "_id"),
        index("status", "job_id", "seq", "ready_at", name="blocks_pending", **only(status=PENDING)),
        index("job_id", "disputed", "seq", name="blocks_disputed", **only(disputed=True)),
    ]


async def keep_block_indexes(blocks: AsyncCollection[dict[str, Any]], where: str) -> None:
    """Make the blocks' indexes, partial if the server takes a partial index, and
    drop those they replace. PyMongoError goes to the caller."""
    try:
        await keep_indexes(blocks, block_indexes(partial=True), REPLACED_BLOCK_INDEXES)
        return
    except OperationFailure as e:
        if not lacks_option(e):
            raise
        log.info("no partial indexes on %s (%s); blocks are indexed whole", where, e)
    await keep_indexes(blocks, block_indexes(partial=False), REPLACED_BLOCK_INDEXES)
