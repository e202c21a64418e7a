"""The volunteer's controls on real processes, a real Seeker and real containers:
caps that reach the container, pause/resume/status through `giver` commands,
a paused Giver unfit on the Seeker, and draining on SIGTERM."""

import asyncio
import json
import signal
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import docker
import pytest
from support.api import job_state, online_givers, submit, wait_until_done
from support.base import BIN, JOB_TIMEOUT_S, POLL_S, run, until
from support.docker import containers_by_id
from support.givers import GiverFactory, Heard
from support.processes import giver_cli, giver_process

from channel.wire.messages import Accept, Refuse
from seeker.daemon import Seeker

pytestmark = pytest.mark.seeker_config(poll_interval_s=POLL_S, open_registration=True)
MIB = 2**20


async def _count(listing: Awaitable[list[Any]], count: int) -> bool:
    return len(await listing) == count


async def test_caps_clamp_the_container_and_refuse_what_does_not_fit(
    seeker: Seeker,
    heard: Heard,
    giver: GiverFactory,
    faulty_image: str,
    docker_client: docker.DockerClient,
) -> None:
    async with giver("capped", slots=2, cpus_cap=0.5, memory_cap_bytes=128 * MIB) as capped:
        (view,) = await online_givers(seeker)
        assert view["capabilities"]["cpus"] == 1
        assert view["capabilities"]["memory_bytes"] == 128 * MIB
        job_id = await submit(
            seeker,
            {
                "image": faulty_image,
                "keys": ["a", "b"],
                "block_size": 1,
                "settings": {"mode": "sleep"},
                "limits": {"cpus": 1.0, "memory_bytes": 128 * MIB},
            },
        )
        await heard.wait_for(Accept)
        (running,) = await until(
            lambda: asyncio.to_thread(containers_by_id, docker_client, capped.id), "a container"
        )
        host = running.attrs["HostConfig"]
        assert host["NanoCpus"] == 500_000_000 and host["Memory"] == 128 * MIB
        (refuse,) = await heard.wait_for(Refuse)
        assert refuse.reason == (
            "no room under the volunteer's CPU cap: running tasks use 0.5 of 0.5 CPU(s), "
            "this task needs 0.5"
        )
        await seeker_cancel(seeker, job_id)


async def seeker_cancel(seeker: Seeker, job_id: str) -> None:
    code, _, err = await run(BIN / "seeker", "cancel", "--seeker", seeker.url, job_id)
    assert code == 0, err


def dialling(seeker: Seeker, data: Path) -> tuple[str | Path, ...]:
    """`giver run` flags: dial `seeker`, keep data in `data`."""
    return ("--seeker", seeker.url, "--data-dir", data)


async def running_status(*where: object, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`giver status --json WHERE` (with `env`) once the daemon answers."""

    async def answer() -> dict[str, Any] | None:
        code, out, _ = await giver_cli("status", "--json", *where, env=env)
        return json.loads(out) if code == 0 else None

    return await until(answer, "the daemon's status")


async def test_pause_resume_and_status_from_another_terminal(
    tmp_path: Path, seeker: Seeker, faulty_image: str
) -> None:
    data = tmp_path / "g"
    code, out, _ = await giver_cli("status", "--data-dir", data)
    nobody = f"no Giver is running with the data dir {data}, and none has run there\n"
    assert (code, out) == (3, nobody)
    async with giver_process(tmp_path / "g.log", *dialling(seeker, data), "--slots", "1"):
        status = await running_status("--data-dir", data)
        assert status["daemon_running"] and status["taking_tasks"]
        assert status["seeker_url"] == seeker.url and status["running"] == []
        await until(lambda: _session_open(data), "the session to open")
        code, out, _ = await giver_cli("pause", "--data-dir", data)
        assert (code, out) == (0, "paused: no new tasks; running tasks go on until they finish\n")
        job_id = await submit(seeker, {"image": faulty_image, "keys": ["a"]})
        job = await until(
            lambda: _waiting_with(seeker, job_id, "is paused by its volunteer"), "the reason"
        )
        assert job["keys"]["pending"] == 1
        code, out, _ = await giver_cli("status", "--data-dir", data)
        assert "not taking tasks: it is paused by its volunteer (paused since " in out
        assert f"seeker:       {seeker.url} (session open since " in out
    code, out, _ = await giver_cli("status", "--data-dir", data)
    assert code == 3 and out.startswith(f"no Giver is running with the data dir {data}\n")
    assert "it is paused: it will take no tasks when it starts" in out
    async with giver_process(tmp_path / "g.log", *dialling(seeker, data), "--slots", "1"):
        status = await running_status("--data-dir", data)
        assert not status["taking_tasks"] and status["paused_since"] is not None
        code, out, _ = await giver_cli("resume", "--data-dir", data)
        assert (code, out) == (0, "resumed: taking tasks again (within its active hours)\n")
        done = await wait_until_done(seeker, job_id)
        assert done["keys"]["done"] == 1
        status = await running_status("--data-dir", data)
        assert status["taking_tasks"] and status["outbox"]["count"] == 0


async def test_commands_find_a_giver_run_with_a_settings_file(
    tmp_path: Path, seeker: Seeker
) -> None:
    """Its data dir named only in the file, which --config or the environment names."""
    file = tmp_path / "lend.toml"
    file.write_text(f'seeker = "{seeker.url}"\ndata_dir = "lent"\nslots = 1\n')
    named = {"SEEKGIVE_GIVER_CONFIG": str(file)}
    async with giver_process(tmp_path / "lent.log", "--config", file):
        status = await running_status("--config", file)
        assert status["daemon_running"] and status["seeker_url"] == seeker.url
        code, out, _ = await giver_cli("pause", env=named)
        assert (code, out) == (0, "paused: no new tasks; running tasks go on until they finish\n")
        assert (await running_status(env=named))["paused_since"] is not None
        assert (tmp_path / "lent" / "paused").is_file()
        code, out, _ = await giver_cli("resume", "--config", file)
        assert (code, out) == (0, "resumed: taking tasks again (within its active hours)\n")


async def _session_open(data: Path) -> dict[str, Any] | None:
    status = await running_status("--data-dir", data)
    return status if status["session"]["open"] else None


async def _waiting_with(seeker: Seeker, job_id: str, words: str) -> dict[str, Any] | None:
    job = await job_state(seeker, job_id)
    return job if words in job.get("waiting", "") else None


async def test_drain_on_sigterm_delivers_what_finishes_and_releases_the_rest(
    tmp_path: Path, seeker: Seeker, faulty_image: str, docker_client: docker.DockerClient
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _, out, _ = await giver_cli("id", "--data-dir", first)
    first_id = out.split()[1]
    flags = ("--slots", "2", "--drain-grace-s", "6")
    async with giver_process(tmp_path / "first.log", *dialling(seeker, first), *flags) as g:
        await until(lambda: _session_open(first), "the session to open")
        short = await submit(
            seeker,
            {"image": faulty_image, "keys": ["s"], "settings": {"mode": "slow", "seconds": 2}},
        )
        long = await submit(
            seeker,
            {"image": faulty_image, "keys": ["l"], "settings": {"mode": "slow", "seconds": 10}},
        )
        await until(
            lambda: _count(asyncio.to_thread(containers_by_id, docker_client, first_id), 2),
            "two containers",
        )
        g.send_signal(signal.SIGTERM)
        flags = ("--slots", "1")
        async with giver_process(tmp_path / "second.log", *dialling(seeker, second), *flags):
            async with asyncio.timeout(JOB_TIMEOUT_S):
                assert await g.wait() == 0
            assert await asyncio.to_thread(containers_by_id, docker_client, first_id) == []
            assert (await wait_until_done(seeker, short))["keys"]["done"] == 1
            assert (await wait_until_done(seeker, long))["keys"]["done"] == 1
    log = (tmp_path / "first.log").read_text()
    assert "draining: no new tasks; 2 running task(s) get up to 6 s to finish" in log
    assert "drain grace of 6 s is over: releasing 1 task(s) still running" in log
    assert "released 1 running task(s)" in log and "Traceback" not in log
    second_log = (tmp_path / "second.log").read_text()
    assert second_log.count("finished: 1 of 1 key(s) ok") == 1
