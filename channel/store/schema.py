"""Schema versions of the stores, and the one way a store is brought up to date.

The Channel's results store and the Seeker's state store each record the
version of their layout and the seekgive release that wrote it: a row of the
table `schema_version` in a SQLite file, a document of the collection `meta`
in a MongoDB database (where both stores may share one database, so each has
its own row or document). A store with no record is at version 0, as
seekgive 0.1.0 left it.

On open, a store at an older version is migrated one step at a time, and a
store at a newer version is refused before anything is written. A store
kind's steps are one tuple of named functions per backend (in its
`migrations` module); step N brings version N-1 to N, so the next migration
is a function appended there and a test. A SQLite step runs in one
transaction with the record of its version. MongoDB has no transactions here
(FerretDB 1.x), so a MongoDB step must be idempotent: a Seeker stopped half
way, or two starting together on one database, run it again harmlessly; the
record only moves forward, and only the first to take a step (by inserting
its marker, `<store>_step_<N>`) logs it.
"""

import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from channel.errors import NewerSchema
from channel.wire.release import SEEKGIVE_VERSION

log = logging.getLogger(__name__)

VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    store TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    seekgive TEXT NOT NULL
);
"""
META = "meta"

SqliteStep = Callable[[sqlite3.Connection], None]
MongoStep = Callable[[AsyncDatabase[dict[str, Any]]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Versions:
    """A store kind's versions: its name in the version record, who reads it (for
    the refusal: "this Seeker"), and its steps on each backend, as many of each."""

    store: str
    reader: str
    sqlite: Sequence[SqliteStep]
    mongo: Sequence[MongoStep]

    def __post_init__(self) -> None:
        assert len(self.sqlite) == len(self.mongo), "a step is written for both backends"

    @property
    def current(self) -> int:
        """The version this code writes."""
        return len(self.sqlite)

    def check(self, where: str, found: int, written_by: str) -> None:
        """NewerSchema if a store (or backup) at `where` is past what this code knows."""
        if found > self.current:
            raise NewerSchema(
                f"{self.store} store {where}",
                found=found,
                known=self.current,
                written_by=written_by,
                reader=self.reader,
            )


def record_the_version(db: sqlite3.Connection) -> None:
    """Version 1 of both stores: seekgive 0.1.0's layout, which lacks nothing but the
    record of its version (which the caller writes with every step)."""


async def record_the_version_in_mongo(database: AsyncDatabase[dict[str, Any]]) -> None:
    """Version 1 of both stores on MongoDB: as `record_the_version`."""


def _described(step: Callable[..., object]) -> str:
    return step.__name__.strip("_").replace("_", " ")


def sqlite_version(db: sqlite3.Connection, store: str) -> tuple[int, str]:
    """The version a SQLite file records for `store` and the release that wrote it;
    (0, "") before versions were recorded."""
    if not db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone():
        return 0, ""
    row = db.execute(
        "SELECT version, seekgive FROM schema_version WHERE store = ?", (store,)
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else (0, "")


def record_sqlite(db: sqlite3.Connection, store: str, version: int) -> None:
    db.execute(
        "INSERT INTO schema_version (store, version, seekgive) VALUES (?, ?, ?) "
        "ON CONFLICT (store) DO UPDATE SET version = excluded.version, "
        "seekgive = excluded.seekgive",
        (store, version, SEEKGIVE_VERSION),
    )


def migrate_sqlite(db: sqlite3.Connection, versions: Versions, script: str, where: str) -> None:
    """Bring the SQLite file open on `db` (autocommit) to the current version: refuse
    a newer one untouched, create the tables of a new one as they are now, run each
    missing step of an older one in a transaction with its record, then create the
    tables and indexes it lacks."""
    found, written_by = sqlite_version(db, versions.store)
    versions.check(where, found, written_by)
    new = not db.execute("SELECT 1 FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()
    if new:
        db.executescript(script + VERSION_TABLE)
        record_sqlite(db, versions.store, versions.current)
        return
    db.executescript(VERSION_TABLE)
    for version, step in enumerate(versions.sqlite[found:], start=found + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have taken this step since the version was read.
            if sqlite_version(db, versions.store)[0] < version:
                step(db)
                record_sqlite(db, versions.store, version)
                log.info("%s: migrated to schema %d (%s)", where, version, _described(step))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    # Then what the current layout adds: new tables, and indexes (on columns a
    # step may have just added).
    db.executescript(script)


async def mongo_version(database: AsyncDatabase[dict[str, Any]], store: str) -> tuple[int, str]:
    """The version a MongoDB database records for `store` and the release that wrote
    it; (0, "") before versions were recorded."""
    doc = await database[META].find_one({"_id": f"{store}_schema"})
    return (int(doc["version"]), str(doc.get("seekgive", ""))) if doc else (0, "")


async def migrate_mongo(
    database: AsyncDatabase[dict[str, Any]], versions: Versions, where: str, new: bool
) -> None:
    """Bring a MongoDB database to the current version: refuse a newer one untouched,
    record a `new` store (one holding nothing) as current, run each missing
    (idempotent) step of an older one and record it. PyMongoError goes to the
    caller."""
    found, written_by = await mongo_version(database, versions.store)
    versions.check(where, found, written_by)
    if found == 0 and new:
        await _raise_to(database, versions.store, versions.current)
        return
    for version, step in enumerate(versions.mongo[found:], start=found + 1):
        await step(database)
        first = await _first_to_take(database, versions.store, version)
        await _raise_to(database, versions.store, version)
        if first:
            log.info("%s: migrated to schema %d (%s)", where, version, _described(step))


async def _first_to_take(database: AsyncDatabase[dict[str, Any]], store: str, version: int) -> bool:
    """Whether this process is the first to take step `version`: it inserts the step's
    marker, whose id is unique. (An insert, because FerretDB's conditional updates
    are not atomic when two Seekers make them at once.)"""
    marker = {"_id": f"{store}_step_{version}", "seekgive": SEEKGIVE_VERSION, "at": time.time()}
    try:
        await database[META].insert_one(marker)
    except DuplicateKeyError:
        return False
    return True


async def _raise_to(database: AsyncDatabase[dict[str, Any]], store: str, version: int) -> None:
    """Record `version` unless a later one is recorded."""
    change = {"$max": {"version": version}, "$set": {"seekgive": SEEKGIVE_VERSION}}
    try:
        await database[META].update_one({"_id": f"{store}_schema"}, change, upsert=True)
    except DuplicateKeyError:
        # Another process created the record between our match and our insert.
        await database[META].update_one({"_id": f"{store}_schema"}, change)


async def record_mongo(database: AsyncDatabase[dict[str, Any]], store: str, version: int) -> None:
    """Record schema `version` for `store`, whatever was recorded, for the next open
    to migrate from."""
    await database[META].update_one(
        {"_id": f"{store}_schema"},
        {"$set": {"version": version, "seekgive": SEEKGIVE_VERSION}},
        upsert=True,
    )
