"""Fixtures over real services: the Docker Engine, FerretDB, the demo site.

A service the tests need and cannot find fails the run; nothing is skipped.
`./scripts/setup` installs and builds everything these fixtures use.
"""

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import demo_site
import docker
import pytest
from ferretdb import FerretDBError, running_ferretdb
from ferretdb import free_port as free_port  # test modules import it from conftest
from pymongo import AsyncMongoClient

from channel.models import Task
from giver.docker_runner import GIVER_LABEL, DockerRunner
from giver.outputs import ContainerExit, ScraperOutput, UntrustedOutput, collect
from seeker.client import SeekerClient

REPO = Path(__file__).resolve().parent.parent
BASE_IMAGE = os.environ.get("BASE_IMAGE", "seekgive/base:bookworm")
CATALOG_IMAGE = "seekgive/catalog:1"
FAULTY_IMAGE = "seekgive-test/faulty:1"
HOSTILE_IMAGE = "seekgive-test/hostile:1"
THREAD_JOIN_TIMEOUT_S = 5.0
RUNNER_PROGRESS_INTERVAL_S = 0.1
BLOCKED_LOOP_S = 0.5


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    """Every thread a test starts (executors, clients) is gone when it ends."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_JOIN_TIMEOUT_S
    for thread in set(threading.enumerate()) - before:
        thread.join(max(0.0, deadline - time.monotonic()))
    leaked = [t.name for t in set(threading.enumerate()) - before]
    assert not leaked, f"threads left running: {leaked}"


class _SlowCallbacks(logging.Handler):
    """Collects asyncio debug mode's reports of callbacks that blocked the loop.

    asyncio reports anything over 0.1 s; only blocks of BLOCKED_LOOP_S or more
    count, so a busy CI machine does not fail a test that does no blocking I/O.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        took = re.search(r" took ([\d.]+) seconds$", message)
        if message.startswith("Executing ") and took and float(took[1]) >= BLOCKED_LOOP_S:
            self.reports.append(message)


@pytest.fixture(autouse=True)
def loop_never_blocks() -> Iterator[None]:
    """No callback holds the event loop for BLOCKED_LOOP_S or more."""
    handler = _SlowCallbacks()
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.addHandler(handler)
    yield
    asyncio_log.removeHandler(handler)
    assert not handler.reports, "the event loop was blocked:\n" + "\n".join(handler.reports)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as e:
        pytest.fail(f"the Docker Engine is not reachable ({e}); run ./scripts/setup")
    yield client
    client.close()


@pytest.fixture(scope="session")
def catalog_image(docker_client: docker.DockerClient) -> str:
    """The example scraper image, built by ./scripts/setup."""
    try:
        docker_client.images.get(CATALOG_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {CATALOG_IMAGE} is missing; run ./scripts/setup")
    return CATALOG_IMAGE


def build_test_image(name: str, tag: str) -> str:
    """Build tests/images/NAME from the local base as `tag`."""
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "-t",
            tag,
            str(REPO / "tests" / "images" / name),
        ],
        check=True,
        capture_output=True,
    )
    return tag


@pytest.fixture(scope="session")
def faulty_image(docker_client: docker.DockerClient) -> str:
    """A scraper that misbehaves on demand (tests/images/faulty), built from the local base."""
    return build_test_image("faulty", FAULTY_IMAGE)


@pytest.fixture(scope="session")
def hostile_image(docker_client: docker.DockerClient) -> str:
    """A scraper that attacks its sandbox on demand (tests/images/hostile)."""
    return build_test_image("hostile", HOSTILE_IMAGE)


@pytest.fixture
async def runner(docker_client: docker.DockerClient) -> AsyncIterator[DockerRunner]:
    """A DockerRunner of a Giver id of its own; its containers are removed at the end."""
    runner = await DockerRunner.connect(
        f"gtest{uuid.uuid4().hex[:12]}", progress_interval_s=RUNNER_PROGRESS_INTERVAL_S
    )
    yield runner
    await runner.remove_leftovers()
    await runner.close()


def containers_of(docker_client: docker.DockerClient, runner: DockerRunner) -> list:
    return docker_client.containers.list(
        all=True, filters={"label": f"{GIVER_LABEL}={runner.giver_id}"}
    )


async def run_task(
    runner: DockerRunner, task: Task, workdir: Path, progress: list[tuple[int, int]] | None = None
) -> tuple[ContainerExit, ScraperOutput | UntrustedOutput]:
    """Run `task` over `workdir` and collect its output, as a Giver does."""

    def on_progress(done: int, total: int) -> None:
        if progress is not None:
            progress.append((done, total))

    image = await runner.resolve_image(task.image)
    assert image is not None, f"image {task.image} is not here"
    run = await runner.run(task, image.id, workdir, on_progress)
    return run, await asyncio.to_thread(collect, workdir / "output", task, run)


@pytest.fixture
def new_tag(docker_client: docker.DockerClient) -> Iterator[str]:
    """A tag no image has yet; whatever the test tags with it is untagged at the end."""
    tag = f"seekgive-test/tag:{uuid.uuid4().hex[:12]}"
    yield tag
    try:
        docker_client.images.remove(tag)
    except docker.errors.ImageNotFound:
        pass


@pytest.fixture
async def demo_site_url() -> AsyncIterator[str]:
    """The demo shop served on 127.0.0.1 for the length of one test."""
    runner, url = await demo_site.serve()
    yield url
    await runner.cleanup()


@pytest.fixture(scope="session")
def ferretdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A FerretDB server (SQLite handler) on a free loopback port; yields host:port."""
    with contextlib.ExitStack() as stack:
        try:
            address = stack.enter_context(running_ferretdb(tmp_path_factory.mktemp("ferretdb")))
        except FerretDBError as e:
            pytest.fail(str(e))
        yield address


@pytest.fixture
def mongo_url(ferretdb: str) -> str:
    """A URL to a fresh database on the FerretDB server."""
    return f"mongodb://{ferretdb}/t{uuid.uuid4().hex[:12]}?directConnection=true"


@pytest.fixture(params=["sqlite", "mongodb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A Channel store on each backend: a SQLite file, then a fresh FerretDB database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/channel.sqlite3"
    return request.getfixturevalue("mongo_url")


async def stored_chunks(store_url: str) -> int:
    """How many dataset chunks the store holds, published or staged, read beside the Channel."""
    if store_url.startswith("sqlite:///"):
        path = store_url.removeprefix("sqlite:///")

        def count() -> int:
            with contextlib.closing(sqlite3.connect(path)) as db:
                return db.execute("SELECT count(*) FROM dataset_chunks").fetchone()[0]

        return await asyncio.to_thread(count)
    client: AsyncMongoClient = AsyncMongoClient(store_url)
    try:
        database = client.get_default_database()
        return await database["dataset_chunks.chunks"].count_documents({})
    finally:
        await client.close()


async def issue_token(seeker_url: str, **body: object) -> str:
    """A new admission token from the Seeker at `seeker_url` (through its API)."""
    async with SeekerClient(seeker_url) as client:
        return str((await client.issue_token(body))["token"])
