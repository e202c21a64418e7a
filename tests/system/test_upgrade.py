"""An upgrade that keeps data, as an operator does it: `seeker run` on the stores
release 0.1.0 wrote exports the finished job's records as they were; a backup
of them restored into MongoDB serves the same records from a Seeker there."""

from pathlib import Path

from support.base import BIN, free_port, run
from support.processes import seeker_process
from support.release import expected, previous_stores


async def exported(port: int, job_id: str, tmp_path: Path) -> list[str]:
    records = tmp_path / f"{port}.jsonl"
    code, _, err = await run(
        BIN / "seeker", "--seeker", f"http://127.0.0.1:{port}", "export", job_id, "-o", records
    )
    assert code == 0, err
    return sorted(records.read_text().splitlines())


async def test_a_seeker_upgrades_the_previous_releases_stores_and_a_restore_serves_them(
    tmp_path: Path, mongo_url: str
) -> None:
    state_url, store_url = await previous_stores("sqlite", tmp_path, "")
    release = expected("sqlite")
    port = free_port()
    stores = ("--state", state_url, "--store", store_url)
    async with seeker_process(port, tmp_path / "old", tmp_path / "old.log", stores):
        assert await exported(port, release["job_id"], tmp_path) == release["records"]
    assert "migrated to schema 1" in (tmp_path / "old.log").read_text()

    backup = tmp_path / "all.backup"
    code, _, err = await run(BIN / "seeker", "backup", backup, *stores)
    assert code == 0, err
    code, _, err = await run(
        BIN / "seeker", "restore", backup, "--state", mongo_url, "--store", mongo_url
    )
    assert code == 0, err
    port = free_port()
    moved = ("--state", mongo_url, "--store", mongo_url)
    async with seeker_process(port, tmp_path / "new", tmp_path / "new.log", moved):
        assert await exported(port, release["job_id"], tmp_path) == release["records"]
