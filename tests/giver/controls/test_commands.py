"""`giver pause|resume|status` with no Giver running: they look where `giver run`
would (--data-dir, --config, the environment, the default data dir), and say
plainly when no Giver is there, creating nothing."""

from pathlib import Path

from support.processes import giver_cli


async def test_with_no_giver_ever_run_there_nothing_is_paused_or_created(tmp_path: Path) -> None:
    nowhere = tmp_path / "typo"
    for command in ("pause", "resume"):
        code, out, err = await giver_cli(command, "--data-dir", nowhere)
        assert (code, out) == (1, "")
        assert err == (
            f"giver: error: no Giver has run with the data dir {nowhere} (it holds no "
            "identity.key); give the --data-dir or --config that `giver run` uses\n"
        )
    code, out, _ = await giver_cli("status", "--data-dir", nowhere)
    assert (code, out) == (
        3,
        f"no Giver is running with the data dir {nowhere}, and none has run there\n",
    )
    assert not nowhere.exists()


async def test_a_giver_that_ran_there_starts_paused(tmp_path: Path) -> None:
    data = tmp_path / "lent"
    code, _, _ = await giver_cli("id", "--data-dir", data)
    assert code == 0
    code, out, _ = await giver_cli("pause", "--data-dir", data)
    assert (code, out) == (
        0,
        f"paused; no Giver is running with the data dir {data}: it will start paused\n",
    )
    assert (data / "paused").is_file()
    code, out, _ = await giver_cli("status", "--data-dir", data)
    assert (code, out) == (
        3,
        f"no Giver is running with the data dir {data}\n"
        "it is paused: it will take no tasks when it starts, until `giver resume`\n",
    )
    code, out, _ = await giver_cli("resume", "--data-dir", data)
    assert (code, out) == (
        0,
        f"resumed; no Giver is running with the data dir {data}: it will take tasks when "
        "it starts\n",
    )
    assert not (data / "paused").exists()


async def test_the_data_dir_is_found_as_giver_run_finds_it(tmp_path: Path) -> None:
    """From the file --config or SEEKGIVE_GIVER_CONFIG names (relative to it), from
    SEEKGIVE_GIVER_DATA_DIR, and by default under XDG_DATA_HOME."""
    file = tmp_path / "conf" / "giver.toml"
    file.parent.mkdir()
    file.write_text('seeker = "http://127.0.0.1:1"\ndata_dir = "../lent"\n')
    data = tmp_path / "lent"
    default = tmp_path / "xdg" / "seekgive-giver"
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    for where, args, extra in [
        (data, ("--config", file), {}),
        (data, (), {"SEEKGIVE_GIVER_CONFIG": str(file)}),
        (data, (), {"SEEKGIVE_GIVER_DATA_DIR": str(data)}),
        (default, (), {}),
    ]:
        code, out, _ = await giver_cli("status", *args, env={**env, **extra})
        assert (code, out) == (
            3,
            f"no Giver is running with the data dir {where}, and none has run there\n",
        )
