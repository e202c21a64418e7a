"""The sandbox holds against a scraper that attacks it (tests/scrapers/hostile).

Each test runs one attack through the real DockerRunner and checks the limit
that stops it, then that the runner left no container behind.
"""

import asyncio
import contextlib
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
import pytest
from support import egress
from support.base import BASE_IMAGE
from support.docker import containers_of, run_task

from channel.wire.models import KeyBlock, Limits, Task
from channel.wire.results import KeyOutcome
from giver.sandbox.docker_runner import DockerRunner
from giver.sandbox.outputs import MAX_OUTPUT_DEPTH, MAX_OUTPUT_ENTRIES, ScraperOutput, remove_tree
from seeker.daemon import Seeker

MIB = 2**20
LIMITS = Limits(memory_bytes=128 * MIB, cpus=0.5, pids=32, timeout_s=60, output_bytes=4 * MIB)
KEYS = ("a", "b")
UNREACHABLE = ("Connection refused", "Network is unreachable", "Cannot assign requested address")


@pytest.fixture(autouse=True)
def no_container_left(runner: DockerRunner, docker_client: docker.DockerClient) -> Iterator[None]:
    """Whatever the attack, the runner removed its container by itself."""
    yield
    assert containers_of(docker_client, runner) == []


def hostile_task(
    image: str, mode: str, *, network: str = "none", limits: Limits = LIMITS, **settings: Any
) -> Task:
    return Task(
        task_id=f"t{uuid.uuid4().hex[:8]}",
        job_id="hostile",
        image=image,
        settings={"mode": mode, **settings},
        block=KeyBlock(keys=KEYS),
        network=network,
        limits=limits,
    )


def findings(output: Any) -> dict[str, Any]:
    """What the attack reported, by probe; the run itself must have gone well."""
    assert isinstance(output, ScraperOutput) and output.error is None, output
    assert all(outcome.ok for outcome in output.outcomes)
    return {r["data"]["probe"]: r["data"]["result"] for r in output.records}


def failed_every_key(output: Any, reason: str) -> bool:
    """Every key failed for `reason` (whatever the container logged)."""
    return isinstance(output, ScraperOutput) and replace(output, log="") == ScraperOutput(
        outcomes=[KeyOutcome(key, False, reason) for key in KEYS], error=reason
    )


async def test_a_fork_bomb_stops_at_the_pids_limit(
    runner: DockerRunner, hostile_image: str, faulty_image: str, tmp_path: Path
) -> None:
    _, output = await run_task(runner, hostile_task(hostile_image, "forkbomb"), tmp_path / "w")
    found = findings(output)
    assert 0 < found["forked"] < LIMITS.pids
    assert found["error"] == "Resource temporarily unavailable"
    healthy = Task("t-after", "j", faulty_image, {"mode": "ok"}, KeyBlock(keys=KEYS))
    run, output = await run_task(runner, healthy, tmp_path / "w2")
    assert run.exit_code == 0 and [o.ok for o in output.outcomes] == [True, True]


async def test_a_memory_hog_is_killed_and_named(
    runner: DockerRunner, hostile_image: str, tmp_path: Path
) -> None:
    run, output = await run_task(runner, hostile_task(hostile_image, "memhog"), tmp_path / "w")
    assert run.oom_killed
    assert output.error == (
        f"scraper was killed for exceeding its memory limit of {LIMITS.memory_bytes} bytes"
    )
    assert not any(o.ok for o in output.outcomes)


async def test_nothing_outside_output_and_tmp_is_writable(
    runner: DockerRunner, hostile_image: str, tmp_path: Path
) -> None:
    task = hostile_task(hostile_image, "write_outside")
    _, output = await run_task(runner, task, tmp_path / "w")
    found = findings(output)
    writable = {path for path, result in found.items() if result == "ok"}
    assert writable == {"/output/hostile", "/tmp/hostile"}, found
    assert len(found) == 10
    assert sorted(p.name for p in (tmp_path / "w" / "input").iterdir()) == ["task.json"]


async def test_no_way_to_root(runner: DockerRunner, hostile_image: str, tmp_path: Path) -> None:
    _, output = await run_task(runner, hostile_task(hostile_image, "escalate"), tmp_path / "w")
    found = findings(output)
    denied = "Operation not permitted"
    assert found == {
        "uid": 65534,
        "gid": 65534,
        "euid": 65534,
        "CapEff": "0000000000000000",
        "CapBnd": "0000000000000000",
        "NoNewPrivs": "1",
        "setuid(0)": denied,
        "setuid binary euid": 65534,
        "mount": denied,
        "chown": denied,
        "write /etc/passwd": "Permission denied",
    }


async def test_a_scraper_that_outlives_the_timeout_is_killed(
    runner: DockerRunner, hostile_image: str, tmp_path: Path
) -> None:
    task = hostile_task(hostile_image, "sleep", limits=Limits(timeout_s=1))
    run, output = await run_task(runner, task, tmp_path / "w")
    assert run.timed_out
    assert output.error == "timed out after 1 s"


async def test_a_network_task_that_ignores_the_gateway_reaches_nothing(
    runner: DockerRunner,
    hostile_image: str,
    docker_client: docker.DockerClient,
    seeker: Seeker,
    tmp_path: Path,
) -> None:
    """Containment: a task that needs the network gets no network of its own, only
    the gateway's socket. Every probe targets a listener this test opened and the
    host reaches: the Seeker's port, a port on each of the host's addresses (the
    Docker bridge's included) and a container on the Docker bridge. The gateway,
    with nothing local listed, refuses each of them too."""
    async with contextlib.AsyncExitStack() as stack:
        targets = [("127.0.0.1", urlsplit(seeker.url).port or 0)]
        for family_any in ("0.0.0.0", "::"):
            server = await asyncio.start_server(_close_at_once, family_any, 0)
            await stack.enter_async_context(server)
            port = server.sockets[0].getsockname()[1]
            targets += [
                (address, port)
                for address in ["127.0.0.1", *await _host_addresses()]
                if (":" in address) == (family_any == "::")
            ]
        container = await asyncio.to_thread(
            docker_client.containers.run,
            BASE_IMAGE,
            ["python3", "-m", "http.server", "8000"],
            detach=True,
            network="bridge",
            labels={"seekgive.test": "sandbox"},
        )
        stack.push_async_callback(asyncio.to_thread, container.remove, force=True)
        await asyncio.to_thread(container.reload)
        targets.append((container.attrs["NetworkSettings"]["IPAddress"], 8000))
        for host, port in targets:  # from the host, each answers
            await _reached(host, port)
        gateway = await stack.enter_async_context(egress.serving(tmp_path / "gateway"))
        _, output = await run_task(
            runner,
            hostile_task(
                hostile_image, "network", network="bridge", targets=targets, name="shop.example"
            ),
            tmp_path / "w",
            gateway=gateway,
        )
    found = findings(output)
    assert found["interfaces"] == ["lo"]
    assert found["routes"] == []  # no route: no packet can leave the container
    assert found["resolve"] != "ok"
    for host, port in targets:
        # Its own loopback refuses; no other address can even be sent to.
        assert found[f"connect {host}:{port}"] in UNREACHABLE
        assert found[f"gateway {host}:{port}"].startswith(
            f"HTTP/1.1 403 egress refused: {host} is a"
        )


async def _close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _host_addresses() -> list[str]:
    """This machine's addresses on every interface but loopback."""
    listed = await asyncio.to_thread(
        subprocess.run, ["hostname", "-I"], capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


async def _reached(host: str, port: int) -> None:
    """Return once `host`:`port` takes a connection from the host (a container's
    server may take a moment to start)."""
    async with asyncio.timeout(30):
        while True:
            try:
                _, writer = await asyncio.open_connection(host, port)
            except ConnectionRefusedError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return


async def test_tmp_holds_no_more_than_its_tmpfs(
    runner: DockerRunner, hostile_image: str, tmp_path: Path
) -> None:
    limits = Limits(memory_bytes=256 * MIB, pids=32, timeout_s=60, output_bytes=16 * MIB)
    task = hostile_task(hostile_image, "tmp_fill", limits=limits)
    _, output = await run_task(runner, task, tmp_path / "w")
    found = findings(output)
    assert found["error"] == "No space left on device"
    assert 60 * MIB < found["bytes written"] <= 64 * MIB


async def test_output_past_its_limit_stops_the_container_and_fails_the_task(
    runner: DockerRunner, hostile_image: str, tmp_path: Path
) -> None:
    run, output = await run_task(runner, hostile_task(hostile_image, "fill_output"), tmp_path / "w")
    assert run.overflow == "output exceeded 4 MiB"
    assert failed_every_key(output, "output exceeded 4 MiB")
    # Each file stops exactly at the limit; the total only once the runner looks.
    assert (tmp_path / "w" / "output" / "blob-0").stat().st_size == 4 * MIB
    # The runner may look after many files were written: the tail holds the last ones.
    last = run.stderr_tail[-1]
    assert re.fullmatch(r"hostile: /output/blob-\d+ stopped at 4194304 bytes: File too large", last)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("many_files", f"output: more than {MAX_OUTPUT_ENTRIES} entries"),
        ("deep", f"output: directories nested deeper than {MAX_OUTPUT_DEPTH}"),
    ],
)
async def test_too_many_entries_or_levels_stop_the_container_and_are_removed(
    runner: DockerRunner, hostile_image: str, tmp_path: Path, mode: str, reason: str
) -> None:
    run, output = await run_task(runner, hostile_task(hostile_image, mode), tmp_path / "w")
    assert run.overflow == reason
    assert failed_every_key(output, reason)
    await asyncio.to_thread(remove_tree, tmp_path / "w")
    assert not (tmp_path / "w").exists()
