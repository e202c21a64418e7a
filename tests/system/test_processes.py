"""The commands as people run them: real processes, real signals, real containers."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import docker
import pytest
from support.base import OPERATOR_HEADERS, OPERATOR_TOKEN, REPO, free_port, run
from support.processes import STOP_TIMEOUT_S

from channel.wire.identity import Identity
from giver.daemon import Giver
from giver.sandbox.probe import arch as probe_arch
from giver.terms.config import GiverConfig
from seeker.config import SeekerConfig
from seeker.daemon import Seeker

BIN = Path(sys.executable).parent


def leftovers(docker_client: docker.DockerClient) -> list[str]:
    return [
        c.name for c in docker_client.containers.list(all=True, filters={"label": "seekgive.giver"})
    ]


def processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and int(pid) != os.getpid():
            found.append(cmdline)
    return found


def read_until(stream, marker: str) -> str:
    seen = []
    for line in stream:
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} never appeared in:\n{''.join(seen)}")


def test_giver_stops_on_sigint_while_still_registering(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    with subprocess.Popen(
        [BIN / "giver", "run", "--seeker", nobody, "--data-dir", tmp_path],
        stderr=subprocess.PIPE,
        text=True,
    ) as giver:
        read_until(giver.stderr, "cannot register with the Seeker")
        giver.send_signal(signal.SIGINT)
        assert giver.wait(timeout=STOP_TIMEOUT_S) == 0
        assert "Traceback" not in giver.stderr.read()


def test_bad_submission_is_one_clear_line(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    unreachable = subprocess.run(
        [BIN / "seeker", "submit", "--seeker", nobody, "--image", "x:1", "--range", "1:5"],
        capture_output=True,
        text=True,
    )
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("seeker: error: cannot reach the Seeker")
    bad_range = subprocess.run(
        [BIN / "seeker", "submit", "--seeker", nobody, "--image", "x:1", "--range", "1-5"],
        capture_output=True,
        text=True,
    )
    assert bad_range.returncode == 1
    assert bad_range.stderr == "seeker: error: --range '1-5' is not START:STOP\n"


def test_demo_runs_a_job_with_relative_paths(
    tmp_path: Path, catalog_image: str, docker_client: docker.DockerClient
) -> None:
    demo = subprocess.run(
        [
            sys.executable,
            REPO / "scripts" / "demo.py",
            "--keys",
            "60",
            "--block-size",
            "10",
            "--work-dir",
            "work",
            "--output",
            "results.jsonl",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    last = demo.stdout.strip().splitlines()[-1]
    assert last.startswith("demo: 60/60 keys done, 60 records, 2 givers, "), last
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 60
    assert leftovers(docker_client) == []
    assert processes_mentioning(str(tmp_path)) == []


def test_demo_interrupted_leaves_no_container_or_process(
    tmp_path: Path, catalog_image: str, docker_client: docker.DockerClient
) -> None:
    work = tmp_path / "work"
    with subprocess.Popen(
        [
            sys.executable,
            REPO / "scripts" / "demo.py",
            "--keys",
            "500",
            "--block-size",
            "5",
            "--work-dir",
            work,
            "--output",
            tmp_path / "results.jsonl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test run started in the background of a script inherits SIGINT ignored;
        # the demo must see Ctrl-C as a terminal would send it.
        preexec_fn=_default_sigint,
    ) as demo:
        read_until(demo.stdout, " leased, ")
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=STOP_TIMEOUT_S) == 130
        assert "interrupted; everything it started is stopped" in demo.stderr.read()
    assert leftovers(docker_client) == []
    assert processes_mentioning(str(work)) == []


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_channel_serves_on_its_own_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with subprocess.Popen(
        [BIN / "channel", "serve", "--store", f"sqlite:///{tmp_path}/c.db", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    ) as channel:
        read_until(channel.stderr, "channel serving on")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/results", data=b"[]", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=STOP_TIMEOUT_S)
        assert refused.value.code == 400
        assert json.loads(refused.value.read())["code"] == "bad_result"
        refused.value.close()
        channel.send_signal(signal.SIGTERM)
        assert channel.wait(timeout=STOP_TIMEOUT_S) == 0
    assert (tmp_path / "c.db").exists()


async def test_seeker_cli_submits_follows_shows_and_exports(
    tmp_path: Path, faulty_image: str
) -> None:
    config = SeekerConfig(
        operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "seeker", poll_interval_s=0.05
    )
    async with Seeker(config) as seeker:
        seeker_flag = ("--seeker", seeker.url)
        giver_config = GiverConfig(
            seeker_url=seeker.url, data_dir=tmp_path / "giver", slots=1, reconnect_max_s=0.2
        )
        giver_id = Identity.load_or_create(giver_config.identity_path).id
        giver = Giver(giver_config)
        # Not admitted: it keeps registering until the operator approves it.
        starting = asyncio.create_task(giver.start())
        try:
            await approve_when_pending(seeker_flag, giver_id)
            await starting
            code, out, err = await run(
                BIN / "seeker",
                "submit",
                *seeker_flag,
                "--image",
                faulty_image,
                "--keys",
                "a",
                "b",
                "c",
                "--block-size",
                "2",
                "--setting",
                "mode=ok",
                "--wait",
            )
            assert code == 0, err
            job_id, *progress = out.splitlines()
            assert progress[-1] == f"{job_id} done: 3/3 done, 0 failed, 0 leased, 0 pending"

            code, out, _ = await run(BIN / "seeker", "status", *seeker_flag)
            assert code == 0
            assert "givers: 1 online of 1 registered" in out
            assert f"{giver.id} " in out and f"{job_id} done: 3/3 done" in out

            code, out, _ = await run(BIN / "seeker", "status", *seeker_flag, job_id)
            assert out == f"{job_id} done: 3/3 done, 0 failed, 0 leased, 0 pending\n"

            target = tmp_path / "records.jsonl"
            code, out, _ = await run(BIN / "seeker", "export", *seeker_flag, job_id, "-o", target)
            assert (code, out) == (0, f"3 records written to {target}\n")
            lines = [json.loads(line) for line in target.read_text().splitlines()]
            assert sorted(r["key"] for r in lines) == ["a", "b", "c"]

            code, _, err = await run(BIN / "seeker", "status", *seeker_flag, "jnope")
            assert (code, err) == (1, "seeker: error: no job 'jnope'\n")
        finally:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            await giver.stop()


async def approve_when_pending(seeker_flag: tuple[str, str], giver_id: str) -> None:
    """Wait until `seeker status` lists the Giver as waiting, then `seeker approve` it."""
    async with asyncio.timeout(STOP_TIMEOUT_S):
        while "waiting for approval: 1" not in (  # noqa: ASYNC110
            out := (await run(BIN / "seeker", "status", *seeker_flag))[1]
        ):
            await asyncio.sleep(0.1)
    assert f"  {giver_id} " in out
    code, out, err = await run(BIN / "seeker", "approve", *seeker_flag, giver_id)
    assert (code, out) == (0, f"giver {giver_id} admitted\n"), err


async def test_a_real_giver_runs_the_image_for_its_own_architecture(
    tmp_path: Path, faulty_image: str
) -> None:
    here = probe_arch()
    elsewhere = "arm64" if here != "arm64" else "amd64"
    config = SeekerConfig(
        operator_token=OPERATOR_TOKEN,
        port=0,
        data_dir=tmp_path / "seeker",
        poll_interval_s=0.05,
        open_registration=True,
    )
    async with Seeker(config) as seeker:
        giver_config = GiverConfig(seeker_url=seeker.url, data_dir=tmp_path / "giver", slots=1)
        async with Giver(giver_config) as giver:
            assert giver.capabilities is not None and giver.capabilities.arch == here
            submit = (BIN / "seeker", "submit", "--seeker", seeker.url, "--setting", "mode=ok")
            images = ("--image-for", f"{here}={faulty_image}")
            elsewhere_only = ("--image-for", f"{elsewhere}=seekgive-test/never-built:1")
            code, out, err = await run(
                *submit, *images, *elsewhere_only, "--keys", "a", "b", "--wait"
            )
            assert code == 0, err
            job_id, *progress = out.splitlines()
            assert progress[-1] == f"{job_id} done: 2/2 done, 0 failed, 0 leased, 0 pending"

            code, out, err = await run(*submit, *elsewhere_only, "--keys", "c")
            assert code == 0, err
            url = f"{seeker.url}/api/v1/jobs/{out.strip()}"
            async with (
                aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
                asyncio.timeout(STOP_TIMEOUT_S),
            ):
                while True:
                    async with http.get(url) as response:
                        view = await response.json()
                    if "waiting" in view:
                        break
                    await asyncio.sleep(0.05)
            assert view["waiting"] == (
                f"no online Giver can run this job ({giver.id} is {here}, "
                f"the job has images for {elsewhere})"
            )
