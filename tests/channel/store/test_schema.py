"""Schema versions: the stores release 0.1.0 wrote open with this code, migrated to
the current version with nothing lost, on SQLite and on MongoDB (FerretDB); a
store a newer release wrote is refused with one line naming the release to
upgrade to, and left as it was, by the stores, `seeker run` and `channel serve`."""

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from support.base import BIN, run
from support.release import contents, expected, previous_stores

from channel.errors import NewerSchema
from channel.store.factory import open_channel
from channel.store.migrations import CHANNEL
from channel.store.schema import (
    META,
    Versions,
    migrate_mongo,
    migrate_sqlite,
    mongo_version,
    record_the_version,
    record_the_version_in_mongo,
    sqlite_version,
)
from channel.wire.release import SEEKGIVE_VERSION
from seeker.state.factory import open_state
from seeker.state.migrations import STATE

NEWER = 99


def _added(after: dict[str, list[Any]], before: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """What `after` holds that `before` did not; fails if anything of `before` went."""
    for name, rows in before.items():
        assert [row for row in rows if row not in after.get(name, [])] == [], name
    return {
        name: new
        for name, rows in after.items()
        if (new := [row for row in rows if row not in before.get(name, [])])
    }


async def test_a_store_of_release_0_1_0_is_migrated_with_nothing_lost(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    mongo_url = request.getfixturevalue("mongo_url") if backend == "mongodb" else ""
    state_url, store_url = await previous_stores(backend, tmp_path, mongo_url)
    before = {url: await contents(url) for url in {state_url, store_url}}
    release = expected(backend)
    job_id = release["job_id"]

    state = await open_state(state_url)
    try:
        (job,) = await state.jobs()
        blocks = await state.job_blocks(job_id, -1, 100)
        (giver,) = await state.givers()
        tokens = await state.tokens()
        (schedule,) = await state.schedules()
        pem = await state.seeker_key("not the stored key")
        admission = await state.admission(giver["giver_id"])
    finally:
        await state.close()
    assert job["job_id"] == job_id and job["finished_at"] is not None
    assert [b["status"] for b in blocks] == ["done"] * 3
    assert sorted(key for b in blocks for key in b["keys"]["keys"]) == [
        f"k{n}" for n in range(1, 7)
    ]
    assert sorted(t["label"] for t in tokens) == ["unused", "volunteers"]
    assert (schedule["name"], schedule["cron"]) == ("nightly", "0 3 * * *")
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert admission is not None and admission["name"] == "giver-1"

    channel = await open_channel(store_url)
    try:
        records = [
            line.decode()
            async for row in channel.job_results(job_id)
            async for line in channel.record_lines(row)
        ]
        (reader,) = await channel.readers()
        policy = await channel.job(job_id)
    finally:
        await channel.close()
    assert sorted(records) == release["records"]
    assert reader.label == "analyst" and reader.jobs == (job_id,)
    assert policy is not None

    state_record = (STATE.store, STATE.current, SEEKGIVE_VERSION)
    store_record = (CHANNEL.store, CHANNEL.current, SEEKGIVE_VERSION)
    if backend == "sqlite":
        records = {
            state_url: {"schema_version": [state_record]},
            store_url: {"schema_version": [store_record]},
        }
    else:
        records = {
            state_url: {
                META: [
                    {"_id": f"{CHANNEL.store}_schema", "version": 1, "seekgive": SEEKGIVE_VERSION},
                    {"_id": f"{CHANNEL.store}_step_1", "seekgive": SEEKGIVE_VERSION},
                    {"_id": f"{STATE.store}_schema", "version": 2, "seekgive": SEEKGIVE_VERSION},
                    {"_id": f"{STATE.store}_step_1", "seekgive": SEEKGIVE_VERSION},
                    {"_id": f"{STATE.store}_step_2", "seekgive": SEEKGIVE_VERSION},
                ]
            }
        }
    after = {url: await contents(url) for url in before}
    # Version 2 keeps each job's status and finish time beside its document.
    stored_job = after[state_url]["jobs"]
    if backend == "sqlite":
        assert [row[3:] for row in stored_job] == [("done", job["finished_at"])]
        after[state_url]["jobs"] = [row[:3] for row in stored_job]
    else:
        statuses = [(doc.pop("status"), doc.pop("finished_at")) for doc in stored_job]
        assert statuses == [("done", job["finished_at"])]
    for doc in after[state_url].get(META, []):
        # When a step was taken, in the step's marker.
        assert doc.pop("at", 0) <= time.time()
    assert {url: _added(after[url], rows) for url, rows in before.items()} == records


async def _make_newer(backend: str, state_url: str, store_url: str) -> None:
    """Record in both stores a schema this code does not know, as release 9.9.0 would."""
    if backend == "sqlite":
        for url, store in ((state_url, STATE.store), (store_url, CHANNEL.store)):
            db = sqlite3.connect(url.removeprefix("sqlite:///"))
            with db:
                db.execute(
                    "CREATE TABLE schema_version (store TEXT PRIMARY KEY, version INTEGER, "
                    "seekgive TEXT)"
                )
                db.execute("INSERT INTO schema_version VALUES (?, ?, '9.9.0')", (store, NEWER))
            db.close()
        return
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(state_url)
    try:
        meta = client.get_default_database()[META]
        for store in (STATE.store, CHANNEL.store):
            await meta.insert_one({"_id": f"{store}_schema", "version": NEWER, "seekgive": "9.9.0"})
    finally:
        await client.close()


async def test_a_store_of_a_newer_schema_is_refused_and_left_as_it_was(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    mongo_url = request.getfixturevalue("mongo_url") if backend == "mongodb" else ""
    state_url, store_url = await previous_stores(backend, tmp_path, mongo_url)
    await _make_newer(backend, state_url, store_url)
    before = {url: await contents(url) for url in {state_url, store_url}}

    with pytest.raises(NewerSchema) as refused:
        await open_state(state_url)
    assert str(refused.value).endswith(
        f"was written by schema {NEWER} (seekgive 9.9.0); this Seeker knows up to schema "
        f"{STATE.current}: upgrade seekgive to 9.9.0 or newer"
    )
    with pytest.raises(NewerSchema, match="this Channel knows up to schema"):
        await open_channel(store_url)
    assert {url: await contents(url) for url in before} == before


async def test_seeker_run_and_channel_serve_on_a_newer_store_say_so_in_one_line_and_exit_1(
    tmp_path: Path,
) -> None:
    state_url, store_url = await previous_stores("sqlite", tmp_path, "")
    await _make_newer("sqlite", state_url, store_url)
    code, _, err = await run(
        BIN / "seeker",
        *("run", "--port", "0", "--data-dir", tmp_path / "data"),
        *("--state", state_url, "--store", store_url),
    )
    assert code == 1, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("seeker: error: results store ") and "upgrade seekgive to 9.9.0" in err

    code, _, err = await run(BIN / "channel", "serve", "--port", "0", "--store", store_url)
    assert (code, err.count("\n")) == (1, 1), err
    assert err.startswith("channel: error: results store ") and "this Channel knows" in err


def _add_column(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE things ADD COLUMN colour TEXT NOT NULL DEFAULT 'grey'")


def _half_then_fail(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE things ADD COLUMN size INTEGER")
    raise RuntimeError("the step fails half way")


async def _mark_things(database: AsyncDatabase[dict[str, Any]]) -> None:
    await database["things"].update_many({}, {"$set": {"colour": "grey"}})


# A store kind with a second step of its own, as the next migration will be written.
SQLITE_STEPS = (record_the_version, _add_column)
MONGO_STEPS = (record_the_version_in_mongo, _mark_things)


def _migrated(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "migrated to schema" in r.getMessage()]


def test_a_sqlite_step_runs_once_in_a_transaction_with_its_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "things.sqlite3"
    script = "CREATE TABLE IF NOT EXISTS things (name TEXT);"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(script + "INSERT INTO things VALUES ('old');")
    two = Versions("things", "Seeker", sqlite=SQLITE_STEPS, mongo=MONGO_STEPS)

    migrate_sqlite(db, two, script, "things.sqlite3")
    migrate_sqlite(db, two, script, "things.sqlite3")
    assert _migrated(caplog) == [
        "things.sqlite3: migrated to schema 1 (record the version)",
        "things.sqlite3: migrated to schema 2 (add column)",
    ]
    assert db.execute("SELECT name, colour FROM things").fetchall() == [("old", "grey")]

    three = Versions(
        "things",
        "Seeker",
        sqlite=(*SQLITE_STEPS, _half_then_fail),
        mongo=(*MONGO_STEPS, _mark_things),
    )
    with pytest.raises(RuntimeError):
        migrate_sqlite(db, three, script, "things.sqlite3")
    assert sqlite_version(db, "things") == (2, SEEKGIVE_VERSION)
    assert "size" not in {row[1] for row in db.execute("PRAGMA table_info(things)")}
    db.close()


async def test_mongodb_steps_taken_by_two_seekers_at_once_are_recorded_and_logged_once(
    mongo_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    two = Versions("things", "Seeker", sqlite=SQLITE_STEPS, mongo=MONGO_STEPS)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        database = client.get_default_database()
        await database["things"].insert_one({"_id": "old"})
        await asyncio.gather(
            migrate_mongo(database, two, "db", new=False),
            migrate_mongo(database, two, "db", new=False),
        )
        assert await mongo_version(database, "things") == (2, SEEKGIVE_VERSION)
        assert await database["things"].find().to_list() == [{"_id": "old", "colour": "grey"}]
    finally:
        await client.close()
    assert sorted(_migrated(caplog)) == [
        "db: migrated to schema 1 (record the version in mongo)",
        "db: migrated to schema 2 (mark things)",
    ]


# The indexes the previous release made, which this one replaces or keeps.
PREVIOUS_INDEXES = {
    "results": [
        IndexModel([("task_id", 1)]),
        IndexModel([("job_id", 1), ("seq", 1)], unique=True),
        IndexModel([("expires_at", 1)], name="results_expiry"),
    ],
    "readers": [IndexModel([("token_id", 1)], unique=True)],
    "blocks": [
        IndexModel([("job_id", 1), ("seq", 1)]),
        IndexModel([("status", 1), ("job_id", 1), ("seq", 1)]),
        IndexModel([("givers", 1)]),
    ],
    "schedule_runs": [IndexModel([("schedule_id", 1), ("tick", 1)])],
    "job_keys": [IndexModel([("job_id", 1), ("seq", 1)])],
}


async def _indexes(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each collection's indexes at `url`: their keys and options, sorted."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        database = client.get_default_database()
        listed = {}
        for name in await database.list_collection_names():
            specs = await (await database[name].list_indexes()).to_list()
            listed[name] = sorted(
                (spec["name"], list(spec["key"].items()), spec.get("unique", False))
                for spec in specs
            )
        return listed
    finally:
        await client.close()


async def test_a_mongodb_store_of_the_previous_release_gets_the_indexes_of_a_new_one(
    mongo_url: str, ferretdb: str, tmp_path: Path
) -> None:
    await previous_stores("mongodb", tmp_path, mongo_url)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        database = client.get_default_database()
        for name, indexes in PREVIOUS_INDEXES.items():
            for index in indexes:
                await database[name].create_indexes([index])
    finally:
        await client.close()
    fresh = mongo_url.replace("/t", "/fresh", 1)
    for url in (mongo_url, fresh):
        for opened in (await open_state(url), await open_channel(url)):
            await opened.close()

    upgraded, new = await _indexes(mongo_url), await _indexes(fresh)
    assert {name: upgraded[name] for name in new} == new
    assert "task_id_1" not in {name for name, _, _ in upgraded["results"]}
