"""Schema versions: the stores release 0.1.0 wrote open with this code, migrated to
the current version with nothing lost, on SQLite and on MongoDB (FerretDB); a
store a newer release wrote is refused with one line naming the release to
upgrade to, and left as it was, by the stores and by `seeker run`."""

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from support.base import BIN, run
from support.release import contents, expected, previous_stores

from channel.errors import NewerSchema
from channel.store.factory import open_channel
from channel.store.migrations import CHANNEL
from channel.store.schema import META
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
                    dict(zip(("_id", "version", "seekgive"), record, strict=True))
                    for record in (
                        (f"{CHANNEL.store}_schema", *store_record[1:]),
                        (f"{STATE.store}_schema", *state_record[1:]),
                    )
                ]
            }
        }
    assert {url: _added(await contents(url), rows) for url, rows in before.items()} == records


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


async def test_seeker_run_on_a_newer_store_says_so_in_one_line_and_exits_1(
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
