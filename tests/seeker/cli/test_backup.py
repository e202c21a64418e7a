"""`seeker backup` and `seeker restore` on real stores: a backup of the stores
release 0.1.0 wrote is restored from SQLite to MongoDB (FerretDB) and back
with nothing lost; a restore refuses a store that is not empty, a damaged
file and a newer schema without writing, and empties what it wrote when a
line fails; a backup refuses while a Seeker leads."""

import gzip
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.base import BIN, run
from support.release import expected, previous_stores

from channel.errors import NewerSchema
from channel.store.factory import open_channel
from channel.wire import canonical
from channel.wire.release import SEEKGIVE_VERSION
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import BadBackup
from seeker.state.archive import ArchiveWriter, summary
from seeker.state.backup import restore
from seeker.state.factory import open_state
from seeker.state.migrations import STATE


async def seeker(*argv: object) -> tuple[int, str, str]:
    return await run(BIN / "seeker", *argv)


def read_backup(path: Path) -> tuple[dict[str, Any], list[Any]]:
    """A backup's header and its lines, sorted, without its end line."""
    header, *lines, _ = [
        canonical.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()
    ]
    return header, sorted(lines, key=canonical.dumps)


def sqlite_urls(folder: Path) -> tuple[str, str]:
    return f"sqlite:///{folder}/seeker.sqlite3", f"sqlite:///{folder}/channel.sqlite3"


async def test_a_backup_goes_from_sqlite_to_mongodb_and_back_with_nothing_lost(
    tmp_path: Path, mongo_url: str
) -> None:
    state_url, store_url = await previous_stores("sqlite", tmp_path, "")
    first, second, third = (tmp_path / f"{n}.backup" for n in ("first", "second", "third"))

    code, out, err = await seeker("backup", first, "--state", state_url, "--store", store_url)
    assert code == 0, err
    assert out.startswith(
        "backed up 1 job, 3 blocks, 1 Seeker signing key, 1 set of operator credentials, 1 Giver, "
    )
    assert first.stat().st_mode & 0o777 == 0o600
    code, out, err = await seeker("restore", first, "--state", mongo_url, "--store", mongo_url)
    assert code == 0, err
    assert out.startswith("restored 1 job, 3 blocks")

    code, _, err = await seeker("backup", second, "--state", mongo_url, "--store", mongo_url)
    assert code == 0, err
    back_state, back_store = sqlite_urls(tmp_path / "back")
    code, _, err = await seeker("restore", second, "--state", back_state, "--store", back_store)
    assert code == 0, err
    code, _, err = await seeker("backup", third, "--state", back_state, "--store", back_store)
    assert code == 0, err

    header, lines = read_backup(first)
    assert (header["seekgive"], header["schemas"]["state"]) == (SEEKGIVE_VERSION, STATE.current)
    assert read_backup(second)[1] == read_backup(third)[1] == lines
    kinds = sorted({line["kind"] for line in lines})
    assert kinds == sorted(
        [
            "admission",
            "block",
            "giver",
            "giver_key",
            "job",
            "job_policy",
            "operators",
            "reader",
            "result",
            "schedule",
            "seeker_key",
            "token",
        ]
    )

    release = expected("sqlite")
    channel = await open_channel(back_store)
    try:
        records = [
            line.decode()
            async for row in channel.job_results(release["job_id"])
            async for line in channel.record_lines(row)
        ]
    finally:
        await channel.close()
    assert sorted(records) == release["records"]
    state = await open_state(back_state)
    try:
        assert await state.schema_version() == STATE.current
        assert [job["job_id"] for job in await state.jobs()] == [release["job_id"]]
    finally:
        await state.close()


async def test_metadata_only_leaves_the_results_out(tmp_path: Path) -> None:
    state_url, store_url = await previous_stores("sqlite", tmp_path, "")
    path = tmp_path / "meta.backup"
    code, _, err = await seeker(
        "backup", path, "--metadata-only", "--state", state_url, "--store", store_url
    )
    assert code == 0, err
    header, lines = read_backup(path)
    assert header["results"] is False
    assert {line["kind"] for line in lines} >= {"job", "block", "job_policy", "reader"}
    assert "result" not in {line["kind"] for line in lines}


async def test_a_restore_refuses_a_store_that_is_not_empty_and_a_damaged_or_newer_file(
    tmp_path: Path,
) -> None:
    state_url, store_url = await previous_stores("sqlite", tmp_path, "")
    path = tmp_path / "a.backup"
    assert (await seeker("backup", path, "--state", state_url, "--store", store_url))[0] == 0

    code, _, err = await seeker("restore", path, "--state", state_url, "--store", store_url)
    assert code == 1
    assert (
        err
        == f"seeker: error: {path}: {state_url} is not empty: restore into a new file or database\n"
    )

    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()).replace(b"k1", b"k9")))
    cut = tmp_path / "cut.backup"
    cut.write_bytes(gzip.compress(b"\n".join(gzip.decompress(path.read_bytes()).splitlines()[:-1])))
    header, *rest = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    newer = tmp_path / "newer.backup"
    newer_header = canonical.loads(header)
    newer_header["schemas"]["state"] = STATE.current + 1
    newer.write_bytes(gzip.compress(canonical.dumps(newer_header) + b"\n" + b"".join(rest)))
    target_state, target_store = sqlite_urls(tmp_path / "target")
    for file, why in (
        (damaged, "was changed or damaged"),
        (cut, "is cut short (no end line)"),
        (tmp_path / "missing.backup", "no such file"),
    ):
        code, _, err = await seeker(
            "restore", file, "--state", target_state, "--store", target_store
        )
        assert (code, err) == (1, f"seeker: error: {file}: {why}" + err.partition(why)[2]), err
        assert err.count("\n") == 1
    # The digest covers the header: a header made newer by hand is refused as changed.
    code, _, err = await seeker("restore", newer, "--state", target_state, "--store", target_store)
    assert code == 1 and "was changed or damaged" in err
    assert not (tmp_path / "target").exists()


async def test_a_backup_of_a_newer_schema_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "newer.backup"
    writer = ArchiveWriter(path, {"seekgive": "9.9.0", "schemas": {"state": 99, "results": 1}})
    await writer.open()
    await writer.finish()
    target_state, target_store = sqlite_urls(tmp_path / "target")
    with pytest.raises(
        NewerSchema, match=r"written by schema 99 \(seekgive 9.9.0\); this Seeker knows"
    ):
        await restore(path, target_state, target_store)
    assert not (tmp_path / "target").exists()


async def test_a_restore_that_fails_half_way_leaves_the_stores_empty(
    tmp_path: Path, mongo_url: str
) -> None:
    path = tmp_path / "bad.backup"
    writer = ArchiveWriter(
        path, {"seekgive": SEEKGIVE_VERSION, "schemas": {"state": 1, "results": 1}}
    )
    await writer.open()
    job = {"job_id": "j1", "created_at": 1.0, "status": "done", "finished_at": 2.0}
    await writer.add("job", job)
    await writer.add("giver_key", {"giver_id": "g1", "public_key": "k"})
    await writer.add("token", {"label": "no token_id"})
    await writer.finish()
    with pytest.raises(BadBackup, match="a token line is malformed"):
        await restore(path, mongo_url, mongo_url)
    state, channel = await open_state(mongo_url), await open_channel(mongo_url)
    try:
        assert await state.empty() and await channel.empty()
    finally:
        await state.close()
        await channel.close()


async def test_a_backup_refuses_while_a_seeker_leads_the_store(tmp_path: Path) -> None:
    config = SeekerConfig(port=0, data_dir=tmp_path / "seeker", operator_token="sgo_x")
    async with Seeker(config) as running:
        code, _, err = await seeker("backup", tmp_path / "b", "--data-dir", tmp_path / "seeker")
    assert code == 1
    assert err == (
        f"seeker: error: sqlite:///{tmp_path}/seeker/seeker.sqlite3: a Seeker leads it "
        f"({running.url}); stop every Seeker on it before the backup\n"
    )
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.partial").exists()


async def test_a_backup_of_an_older_schema_is_restored_and_migrated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    state_url, store_url = await previous_stores("sqlite", tmp_path, "")
    current = tmp_path / "current.backup"
    code, _, err = await seeker("backup", current, "--state", state_url, "--store", store_url)
    assert code == 0, err
    header, lines = read_backup(current)
    older = tmp_path / "older.backup"
    writer = ArchiveWriter(older, {**header, "schemas": {"state": 0, "results": 0}})
    await writer.open()
    for line in lines:
        await writer.add(line["kind"], line["doc"])
    await writer.finish()

    target_state, target_store = sqlite_urls(tmp_path / "target")
    await restore(older, target_state, target_store)

    assert sorted(
        r.getMessage().partition(": ")[2] for r in caplog.records if "migrated" in r.getMessage()
    ) == ["migrated to schema 1 (record the version)"] * 2 + [
        "migrated to schema 2 (keep each jobs status)"
    ]
    state = await open_state(target_state)
    try:
        assert await state.schema_version() == STATE.current
        assert len(await state.tokens()) == 2
    finally:
        await state.close()


@pytest.mark.unit
def test_the_summary_counts_each_kind_in_words() -> None:
    kinds = Counter({"job": 1, "block": 3, "job_policy": 2, "operators": 1, "reader": 2})
    assert summary(kinds) == (
        "1 job, 3 blocks, 2 job policies, 1 set of operator credentials, 2 reader tokens"
    )
