"""The state store's schema versions: the steps that bring an older store up to
date, one function per backend and version (see channel.store.schema).

1. seekgive 0.1.0's layout with its version recorded: 0.1.0 wrote every table,
   collection, column and index that version 1 holds, so the step changes nothing else.
2. Each job's status and finish time are kept beside its document (columns of
   `jobs` in SQLite, fields of its MongoDB document), so a Seeker counts and
   reads finished jobs from the store instead of holding them in memory.
"""

import sqlite3
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from channel.store.schema import Versions, record_the_version, record_the_version_in_mongo
from channel.wire import canonical


def keep_each_jobs_status(db: sqlite3.Connection) -> None:
    """Version 2 in SQLite: the columns `status` and `finished_at` of `jobs` (unless a
    restore into the current layout made them), filled from each job's document."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    if "status" not in columns:
        db.execute("ALTER TABLE jobs ADD COLUMN status TEXT NOT NULL DEFAULT ''")
        db.execute("ALTER TABLE jobs ADD COLUMN finished_at REAL")
    rows = db.execute("SELECT job_id, doc FROM jobs").fetchall()
    for job_id, body in rows:
        doc = canonical.loads(body)
        db.execute(
            "UPDATE jobs SET status = ?, finished_at = ? WHERE job_id = ?",
            (doc["status"], doc["finished_at"], job_id),
        )


async def keep_each_jobs_status_in_mongo(database: AsyncDatabase[dict[str, Any]]) -> None:
    """Version 2 in MongoDB: the fields `status` and `finished_at` of each job's
    document, set from its stored body (idempotent: a job's body is what they say)."""
    jobs = database["jobs"]
    async for stored in jobs.find({}, {"doc": 1}):
        doc = canonical.loads(stored["doc"])
        await jobs.update_one(
            {"_id": stored["_id"]},
            {"$set": {"status": doc["status"], "finished_at": doc["finished_at"]}},
        )


STATE = Versions(
    "state",
    "Seeker",
    sqlite=(record_the_version, keep_each_jobs_status),
    mongo=(record_the_version_in_mongo, keep_each_jobs_status_in_mongo),
)
