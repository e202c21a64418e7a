"""The `seeker` commands that steer jobs and move their state, run as processes
against real Seekers over HTTP."""

import argparse
import json
import logging
from pathlib import Path

import aiohttp
import pytest
from support.base import BIN, OPERATOR_HEADERS, OPERATOR_TOKEN, operator_token_file, run

from channel.store.rows import JobPolicy
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import ConfigError
from seeker.views.display import duration_s


async def seeker_cli(url: str, *argv: object) -> tuple[int, str, str]:
    """`seeker COMMAND --seeker URL ARGS…` (state subcommands take it themselves)."""
    seeker_flag = () if argv[:1] == ("state",) else ("--seeker", url)
    return await run(BIN / "seeker", *argv[:1], *seeker_flag, *argv[1:])


async def test_a_keys_file_job_is_steered_dumped_and_loaded_elsewhere(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("".join(f"https://shop.test/item/{n % 900}\n" for n in range(1000)))
    first = Seeker(
        SeekerConfig(
            operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "one", poll_interval_s=0.05
        )
    )
    second = Seeker(
        SeekerConfig(
            operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "two", poll_interval_s=0.05
        )
    )
    async with first, second:
        code, out, err = await seeker_cli(
            first.url, "submit", "--image", "x:1", "--keys-file", keys, "--name", "items"
        )
        assert code == 0, err
        job_id = out.strip()
        job = await first.coordinator.keys.job(job_id)
        assert (job.total, job.duplicates, job.block_count) == (900, 100, 9)

        code, out, _ = await seeker_cli(first.url, "status", job_id)
        assert out.splitlines()[1] == "  100 duplicate keys dropped"

        for command, status in (("pause", "paused"), ("resume", "running")):
            code, out, err = await seeker_cli(first.url, command, job_id)
            assert (code, out) == (
                0,
                f"{job_id} (items) {status}: 0/900 done, 0 failed, 0 leased, 900 pending\n",
            ), err
        code, out, _ = await seeker_cli(first.url, "priority", job_id, "25")
        assert (code, out) == (0, f"{job_id} priority 25\n")
        code, out, _ = await seeker_cli(first.url, "cancel", job_id)
        assert out.startswith(f"{job_id} (items) cancelled")
        code, _, err = await seeker_cli(first.url, "resume", job_id)
        assert (code, err) == (
            1,
            f"seeker: error: job {job_id} is cancelled; it cannot be resumed\n",
        )

        state = tmp_path / "state.jsonl"
        code, out, err = await seeker_cli(
            first.url, "state", "dump", "--seeker", first.url, job_id, "-o", state
        )
        assert (code, out) == (0, f"11 lines written to {state}\n"), err
        code, out, err = await run(
            BIN / "seeker", "--seeker", first.url, "state", "dump", job_id, "-o", "-"
        )
        assert (code, out) == (0, state.read_text()), err
        header = json.loads(state.read_text().splitlines()[0])
        assert header["job"]["job_id"] == job_id and header["job"]["status"] == "cancelled"

        code, out, err = await seeker_cli(
            second.url, "state", "load", "--seeker", second.url, state
        )
        assert code == 0, err
        assert out.startswith(f"{job_id} (items) cancelled: 0/900 done")
        # The loading Seeker's Channel takes the job's results from now on.
        assert await second.channel.job(job_id) == JobPolicy(job_id)
        code, _, err = await seeker_cli(second.url, "state", "load", "--seeker", second.url, state)
        assert (code, err) == (1, f"seeker: error: job {job_id} already exists here\n")


async def test_delete_removes_a_cancelled_job_and_refuses_a_running_or_unknown_one(
    tmp_path: Path,
) -> None:
    async with Seeker(
        SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "s")
    ) as seeker:
        ids = []
        for _ in range(2):
            code, out, err = await seeker_cli(seeker.url, "submit", "--image", "x:1", "--keys", "a")
            assert code == 0, err
            ids.append(out.strip())
        ended, running = ids
        await seeker_cli(seeker.url, "cancel", ended)

        code, out, err = await seeker_cli(seeker.url, "delete", running)
        assert (code, out) == (1, "")
        assert err == (
            f"seeker: error: job {running} is running; only a done or cancelled job can be "
            f"deleted: cancel it first (seeker cancel {running})\n"
        )
        code, _, err = await seeker_cli(seeker.url, "delete", "jnothere")
        assert (code, err) == (1, "seeker: error: no job 'jnothere'\n")
        code, out, err = await seeker_cli(seeker.url, "delete", ended)
        assert (code, out) == (0, f"{ended} deleted\n"), err
        assert [job["job_id"] for job in await seeker.coordinator.keys.store.jobs()] == [running]
        code, out, _ = await seeker_cli(seeker.url, "status")
        assert out.splitlines()[-2:] == [
            "jobs: 1",
            f"  {running} running: 0/1 done, 0 failed, 0 leased, 1 pending",
        ]


async def test_bad_input_is_one_clear_line_and_creates_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with Seeker(
        SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "s")
    ) as seeker:
        missing = tmp_path / "absent.txt"
        cases = [
            (("--keys-file", missing), f"cannot read keys file {missing}"),
            (("--keys-file", "/proc/self/mem"), "sending keys file /proc/self/mem failed"),
            (("--range", "5:1"), "ranges[0] [5, 1) is empty or reversed"),
            (("--range", "0:99999999999999999999"), "must lie within 64-bit integers"),
            (("--range", "1:5", "--block-size", "0"), "block_size must be a whole number"),
            (("--from-job", "jnope:url"), "from_job: no job 'jnope'"),
            (("--from-dataset", "absent:url"), "from_dataset: no dataset 'absent' in the Channel"),
            (("--from-dataset", "absent"), "--from-dataset 'absent' is not NAME:FIELD"),
            (("--keys", "k" * 2049), "keys[0]: key 'kkkk"),
            (("--keys", "a", "--output-mib", "0"), "limits values must all be positive"),
            (("--keys", "a", "--max-discovered", "5"), "max_discovered goes with discover"),
        ]
        per_arch = [
            (("--image-for", "amd64"), "--image-for 'amd64' is not ARCH=IMAGE"),
            (("--image-for", "amd64=a:1", "--image-for", "amd64=b:1"), "names amd64 twice"),
            (("--image-for", "sparc=a:1"), "images: 'sparc' is not an architecture (known: "),
            (
                ("--image-for", "x86_64=a:1", "--image-for", "amd64=b:1"),
                "images names amd64 twice ('amd64' and 'x86_64')",
            ),
            (
                ("--image-for", "amd64=a:1", "--arch", "aarch64"),
                "requires.arch names arm64, for which images has no image",
            ),
        ]
        cases = [(("--image", "x:1", *f), m) for f, m in cases]
        cases += [((*f, "--keys", "k"), m) for f, m in per_arch]
        for flags, message in cases:
            code, _, err = await seeker_cli(seeker.url, "submit", *flags)
            assert code == 1 and err.startswith("seeker: error: ") and message in err, err
            assert len(err.splitlines()) == 1
        bad_state = tmp_path / "bad.jsonl"
        bad_state.write_text('{"format": "seekgive-job-state", "version": 9}\n')
        code, _, err = await seeker_cli(
            seeker.url, "state", "load", "--seeker", seeker.url, bad_state
        )
        assert (code, err) == (
            1,
            "seeker: error: line 1: state version 9 is not 3, "
            "the one this Seeker writes and reads\n",
        )
        assert seeker.coordinator.keys.jobs == {}
        assert await seeker.coordinator.keys.store.jobs() == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_the_token_file_goes_before_or_after_the_command_and_wins_over_the_env(
    seeker: Seeker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEKGIVE_TOKEN", "sgo_not-this-one")
    token_file = operator_token_file(tmp_path)
    for argv in (
        ("--token-file", token_file, "status"),
        ("status", "--token-file", token_file),
        ("operator", "token", "list", "--token-file", token_file),
    ):
        code, _, err = await run(BIN / "seeker", "--seeker", seeker.url, *argv)
        assert (code, err) == (0, ""), argv


def test_a_discover_interface_must_be_an_ip_address() -> None:
    with pytest.raises(ConfigError, match="'eth0' is not an IP address"):
        SeekerConfig(operator_token=OPERATOR_TOKEN, discover=True, discover_interfaces=("eth0",))


async def test_tokens_are_issued_listed_and_revoked_and_the_key_is_shown(tmp_path: Path) -> None:
    async with Seeker(
        SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "s")
    ) as seeker:
        cli = (BIN / "seeker", "--seeker", seeker.url)
        code, out, err = await run(
            *cli, "token", "issue", "--label", "lab", "--expires-in", "2h", "--uses", "3"
        )
        assert code == 0, err
        token = out.strip()
        token_id = token.split("_")[1]
        assert f"token {token_id}: shown only now" in err
        code, out, _ = await run(*cli, "token", "list")
        assert out.startswith("tokens: 1\n") and f"{token_id} valid 'lab': created " in out
        assert out.endswith(", 0/3 use(s)\n") and token not in out
        code, out, _ = await run(*cli, "token", "revoke", token_id)
        assert (code, out.split(":")[0]) == (0, f"{token_id} revoked 'lab'")
        code, _, err = await run(*cli, "token", "revoke", "nope")
        assert (code, err) == (1, "seeker: error: no admission token 'nope'\n")
        code, out, _ = await run(*cli, "id")
        assert seeker.coordinator is not None
        assert f"seeker key: {seeker.coordinator.identity.public_key}\n" in out
        code, _, err = await run(*cli, "approve", "gnobody")
        assert code == 1 and "giver gnobody is not waiting for approval" in err


async def test_reader_tokens_open_the_channel_to_the_jobs_they_name(tmp_path: Path) -> None:
    async with (
        Seeker(
            SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "s")
        ) as seeker,
        aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
    ):
        cli = (BIN / "seeker", "--seeker", seeker.url)
        code, out, err = await run(
            *cli, "submit", "--image", "x:1", "--keys", "a", "b", "--retention-days", "2"
        )
        assert code == 0, err
        job_id = out.strip()
        assert await seeker.channel.job(job_id) == JobPolicy(job_id, retention_s=2 * 86_400)
        code, out, err = await run(
            *cli, "reader", "issue", "--job", job_id, "--label", "Sarah", "--expires-in", "1d"
        )
        assert code == 0, err
        token = out.strip()
        token_id = err.split()[1].rstrip(":")
        code, out, _ = await run(*cli, "reader", "list")
        assert out.startswith("readers: 1\n") and token not in out
        assert f"{token_id} valid 'Sarah': job {job_id}; created " in out

        async def status(job: str) -> int:
            url = f"{seeker.url}/channel/v1/jobs/{job}/results"
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                return response.status

        assert (await status(job_id), await status("jother")) == (200, 403)
        code, out, _ = await run(*cli, "reader", "revoke", token_id)
        assert (code, out.split(":")[0]) == (0, f"{token_id} revoked 'Sarah'")
        assert await status(job_id) == 401
        code, _, err = await run(*cli, "reader", "issue", "--label", "nothing")
        assert (code, err) == (
            1,
            "seeker: error: a reader token must name a job or a dataset, or allow uploads\n",
        )
        code, _, err = await run(*cli, "reader", "revoke", "nope")
        assert (code, err) == (1, "seeker: error: no reader token 'nope'\n")


@pytest.mark.parametrize(
    ("given", "seconds"), [("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("5", 5)]
)
def test_durations(given: str, seconds: float) -> None:
    assert duration_s(given) == seconds


@pytest.mark.parametrize("given", ["", "0", "-1h", "soon", "3w", "infd"])
def test_bad_durations_are_refused(given: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a positive duration"):
        duration_s(given)
