"""The grid as operators and volunteers run it: compose/seeker.yaml and three
projects of compose/giver.yaml on this machine's Docker Engine, a job submitted
with the `seeker` CLI through the front, the leading Seeker killed and a Giver
restarted in the middle of it.

Nothing is pulled: tests/compose/override.yaml puts FerretDB, built from the
local base, in mongo:8's place, and the daemon images are built by
images/grid/build. The Givers' scrapers reach the demo shop on this machine's
loopback through their egress gateways, which their volunteers let reach it.
"""

import asyncio
import contextlib
import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import docker
import pytest
from support.base import BIN, CATALOG_IMAGE, free_port, run, until
from support.compose import (
    COMPOSE_DIR,
    OVERRIDES,
    Project,
    build_ferretdb_image,
    leftovers,
    write_env_file,
)

from channel.wire.references import repository_of
from seeker.cli.client import SeekerClient
from seeker.errors import SeekerError

KEYS = 500
GIVERS = 3
BLOCK_SIZE = 25
LEADER_LEASE_S = 3
TOKEN_PATH = "/var/lib/seekgive/operator.token"
# The uid the daemon images run as (images/grid/grid.Dockerfile).
IMAGE_UID = 10001
COMPOSE_TIMEOUT_S = 240.0


@pytest.fixture(scope="module")
def ferretdb_image(docker_client: docker.DockerClient) -> str:
    """FerretDB's image, built from the local base; its tag."""
    return build_ferretdb_image()


@pytest.fixture
async def projects() -> AsyncIterator[list[Project]]:
    """The Compose projects a test adds, taken down (volumes too) however it ends."""
    made: list[Project] = []
    yield made
    for project in reversed(made):
        with contextlib.suppress(AssertionError):
            await project.down()


@pytest.mark.timeout(COMPOSE_TIMEOUT_S)
async def test_the_compose_grid_finishes_a_job_through_a_failover_and_a_giver_restart(
    tmp_path: Path,
    docker_client: docker.DockerClient,
    grid_images: str,
    ferretdb_image: str,
    demo_site_url: str,
    projects: list[Project],
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_id = uuid.uuid4().hex[:8]
    front_port, channel_port = free_port(), free_port()
    seeker_url = f"http://127.0.0.1:{front_port}"
    operator = Project(
        f"seekgive-test-{run_id}",
        (COMPOSE_DIR / "seeker.yaml", OVERRIDES / "override.yaml"),
        write_env_file(
            tmp_path / "seeker.env",
            {
                "SEEKGIVE_PUBLIC_URL": seeker_url,
                "SEEKGIVE_CHANNEL_URL": f"http://127.0.0.1:{channel_port}",
                "SEEKGIVE_BIND_ADDRESS": "127.0.0.1",
                "SEEKGIVE_PORT": front_port,
                "SEEKGIVE_CHANNEL_PORT": channel_port,
                "SEEKGIVE_LEADER_LEASE_S": LEADER_LEASE_S,
                # A subnet no Docker address pool hands out, unlike the default's.
                "SEEKGIVE_SUBNET": f"10.251.{int(run_id, 16) % 256}",
                "FERRETDB_IMAGE": ferretdb_image,
                "SEEKGIVE_VERSION": grid_images,
            },
        ),
    )
    projects.append(operator)
    started = time.monotonic()
    await operator.compose("up", "--detach", "--wait")
    stack_s = time.monotonic() - started

    operator_token = (await operator.compose("exec", "-T", "seeker-a", "cat", TOKEN_PATH)).strip()
    cli_env = {"SEEKGIVE_SEEKER": seeker_url, "SEEKGIVE_TOKEN": operator_token}
    code, out, err = await run(BIN / "seeker", "token", "issue", "--uses", GIVERS, env=cli_env)
    assert code == 0, err
    admission_token = out.split()[0]

    givers = [
        giver_project(tmp_path, f"seekgive-test-{run_id}-giver-{n}", n, seeker_url,
                      admission_token, demo_site_url, grid_images)
        for n in range(1, GIVERS + 1)
    ]  # fmt: skip
    projects.extend(givers)
    await asyncio.gather(*(giver.compose("up", "--detach", "--wait") for giver in givers))

    async with SeekerClient(seeker_url, token=operator_token) as client:
        await until(lambda: online_givers(client), f"{GIVERS} Givers online", holds=GIVERS.__eq__)
        submitted = time.monotonic()
        submit = await asyncio.create_subprocess_exec(
            BIN / "seeker", "submit", "--image", CATALOG_IMAGE, "--range", f"1:{KEYS + 1}",
            "--block-size", str(BLOCK_SIZE), "--network", "bridge",
            "--setting", f"base_url={demo_site_url}", "--name", "compose", "--wait",
            env={**os.environ, **cli_env, "PYTHONUNBUFFERED": "1"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert submit.stdout is not None
        lines: list[str] = []
        reading = asyncio.create_task(read_lines(submit.stdout, submitted, lines))
        try:
            job_id = await until(lambda: lines and lines[0].split()[-1], "the job's id")
            assert re.fullmatch(r"j[0-9a-f]+", job_id), job_id
            await until(lambda: keys_done(client, job_id), "the first keys done", holds=bool)

            leader = await until(lambda: front_leader(seeker_url), "a leader", holds=bool)
            done_at_kill = await keys_done(client, job_id)
            killed = time.monotonic()
            await operator.compose("kill", urlsplit(leader).hostname or leader)
            await until(
                lambda: front_leader(seeker_url),
                "the standby leading",
                holds=lambda url: url is not None and url != leader,
            )
            failover_s = time.monotonic() - killed
            restarting = time.monotonic()
            await givers[0].compose("restart", "giver")
            restart_s = time.monotonic() - restarting
            await submit.wait()
        finally:
            if submit.returncode is None:
                submit.kill()
                await submit.wait()
            await reading
        job_s = time.monotonic() - submitted
        assert submit.stderr is not None
        assert submit.returncode == 0, "\n".join(lines) + (await submit.stderr.read()).decode()
        assert done_at_kill is not None and done_at_kill < KEYS, "the job ended before the kill"

        job = await client.job(job_id)
        assert (job["status"], job["keys"]["done"], job["keys"]["total"]) == ("done", KEYS, KEYS)
    records = tmp_path / "records.jsonl"
    code, _, err = await run(BIN / "seeker", "export", job_id, "-o", records, env=cli_env)
    assert code == 0, err
    keys = Counter(json.loads(line)["key"] for line in records.read_text().splitlines())
    assert keys == Counter(str(k) for k in range(1, KEYS + 1))

    for project in reversed(projects):
        await project.down()
        assert leftovers(docker_client, project.name) == []
    projects.clear()
    with capsys.disabled():
        print(
            f"\ncompose: stack healthy in {stack_s:.1f} s; {KEYS} keys on {GIVERS} Givers in "
            f"{job_s:.1f} s (./scripts/demo: about 5 s with 2 Givers and blocks of 25); "
            f"failover {failover_s:.1f} s from the kill to the standby leading "
            f"(leader lease {LEADER_LEASE_S} s); {done_at_kill} keys were done at the kill; "
            f"the Giver restarted in {restart_s:.1f} s; progress:\n" + "\n".join(lines)
        )


def giver_project(
    tmp_path: Path, name: str, n: int, seeker_url: str, token: str, site_url: str, version: str
) -> Project:
    """A project of compose/giver.yaml: Giver `n` of image `version`, its data dir
    under tmp_path, running only the catalog scraper and letting it reach the demo
    shop."""
    data_dir = tmp_path / f"giver-{n}"
    data_dir.mkdir(mode=0o700)
    os.chown(data_dir, IMAGE_UID, IMAGE_UID)
    env = {
        "SEEKGIVE_GIVER_SEEKER": seeker_url,
        "SEEKGIVE_GIVER_TOKEN": token,
        "SEEKGIVE_DOCKER_GID": os.stat("/var/run/docker.sock").st_gid,
        "SEEKGIVE_GIVER_DATA_DIR": data_dir,
        "SEEKGIVE_GIVER_NAME": f"compose-{n}",
        "SEEKGIVE_GIVER_ALLOWED_IMAGES": repository_of(CATALOG_IMAGE),
        "SEEKGIVE_GIVER_ALLOW_LOCAL": urlsplit(site_url).netloc,
        "SEEKGIVE_VERSION": version,
    }
    return Project(
        name,
        (COMPOSE_DIR / "giver.yaml", OVERRIDES / "giver-override.yaml"),
        write_env_file(tmp_path / f"giver-{n}.env", env),
    )


async def read_lines(stream: asyncio.StreamReader, since: float, lines: list[str]) -> None:
    """Add the lines of `stream` to `lines` until it ends, each after the seconds
    since `since`."""
    async for line in stream:
        lines.append(f"{time.monotonic() - since:6.1f} s  {line.decode().rstrip()}")


async def online_givers(client: SeekerClient) -> int | None:
    with contextlib.suppress(SeekerError):
        return sum(g["online"] for g in (await client.givers())["givers"])
    return None


async def keys_done(client: SeekerClient, job_id: str) -> int | None:
    with contextlib.suppress(SeekerError):
        return int((await client.job(job_id))["keys"]["done"])
    return None


async def front_leader(url: str) -> str | None:
    """The Seeker the front forwards to, as it names it; None while it knows none."""
    with contextlib.suppress(aiohttp.ClientError):
        async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as response:
            if response.status == 200:
                return str((await response.json())["leader"])
    return None
