"""Fixtures over real services: the Docker Engine, FerretDB, the demo site, and a
grid of a Seeker and Givers running real jobs.

A service the tests need and cannot find fails the run; nothing is skipped.
`./scripts/setup` installs and builds everything these fixtures use.
"""

import asyncio
import contextlib
import gc
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import demo_site
import docker
import pytest
from ferretdb import FerretDBError, running_ferretdb
from ferretdb import free_port as free_port  # test modules import it from conftest
from playwright.async_api import Browser, async_playwright
from pymongo import AsyncMongoClient

from channel.wire import canonical
from channel.wire.models import Task
from giver.config import GiverConfig
from giver.daemon import Giver
from giver.docker_runner import GIVER_LABEL, DockerRunner
from giver.outputs import ContainerExit, ScraperOutput, UntrustedOutput, collect
from seeker.cli.client import SeekerClient
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.work.history import Run

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASE_IMAGE = os.environ.get("BASE_IMAGE", "seekgive/base:bookworm")
CATALOG_IMAGE = "seekgive/catalog:1"
JSONAPI_IMAGE = "seekgive/jsonapi:1"
LINKS_IMAGE = "seekgive/links:1"
FAULTY_IMAGE = "seekgive-test/faulty:1"
HOSTILE_IMAGE = "seekgive-test/hostile:1"
THREAD_JOIN_TIMEOUT_S = 5.0
RUNNER_PROGRESS_INTERVAL_S = 0.1
BLOCKED_LOOP_S = 0.5
JOB_TIMEOUT_S = 90.0
POLL_S = 0.1
# Debian's chromium, which ./scripts/setup installs; the tests never download a browser.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The operator token every test Seeker accepts (SeekerConfig.operator_token).
OPERATOR_TOKEN = "sgo_test-operator-token"
OPERATOR_HEADERS = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture(scope="session", autouse=True)
def operator_cli() -> Iterator[None]:
    """`seeker` commands the tests run send OPERATOR_TOKEN."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEEKGIVE_TOKEN", OPERATOR_TOKEN)
        yield


def operator_token_file(directory: Path) -> Path:
    """A file holding OPERATOR_TOKEN, for `seeker run --operator-token-file`."""
    path = directory / "operator-token"
    path.write_text(OPERATOR_TOKEN + "\n")
    return path


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
    """No callback holds the event loop for BLOCKED_LOOP_S or more.

    A full collection of Python's cyclic garbage collector stops whatever runs,
    for as long as it takes to walk every object tracked: late in the suite,
    up to 0.48 s over some 570,000 objects. So each test starts with the
    garbage collected and what survived frozen out of later collections (it
    is still freed when nothing refers to it), and a collection during a test
    walks only what the test made."""
    gc.collect()
    gc.freeze()
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


def example_image(docker_client: docker.DockerClient, tag: str) -> str:
    """`tag`, an example scraper image of images/ that ./scripts/setup builds."""
    try:
        docker_client.images.get(tag)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {tag} is missing; run ./scripts/setup (it builds images/*/)")
    return tag


@pytest.fixture(scope="session")
def catalog_image(docker_client: docker.DockerClient) -> str:
    """The example scraper of the demo shop's product pages (images/catalog)."""
    return example_image(docker_client, CATALOG_IMAGE)


@pytest.fixture(scope="session")
def jsonapi_image(docker_client: docker.DockerClient) -> str:
    """The example scraper of the demo shop's paginated JSON API (images/jsonapi)."""
    return example_image(docker_client, JSONAPI_IMAGE)


@pytest.fixture(scope="session")
def links_image(docker_client: docker.DockerClient) -> str:
    """The example scraper that follows links and discovers keys (images/links)."""
    return example_image(docker_client, LINKS_IMAGE)


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
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; run ./scripts/setup (it installs chromium)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """A headless Chromium (Debian's), closed when the test ends."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


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


async def run(*argv: object) -> tuple[int, str, str]:
    """Run a command to its end: its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *map(str, argv), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


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
    async with SeekerClient(seeker_url, token=OPERATOR_TOKEN) as client:
        return str((await client.issue_token(body))["token"])


Grid = Callable[..., Any]


@pytest.fixture
async def grid(tmp_path: Path) -> AsyncIterator[Grid]:
    """Start a Seeker (its Channel on `store_url`, its state on `state_url`; by
    default SQLite files) and `givers` Givers (each with `giver_settings` too);
    everything stops when the test ends."""
    async with AsyncExitStack() as stack:

        async def start(
            store_url: str = "",
            givers: int = 2,
            slots: int = 2,
            state_url: str = "",
            **giver_settings: Any,
        ) -> Seeker:
            seeker = await stack.enter_async_context(
                Seeker(
                    SeekerConfig(
                        operator_token=OPERATOR_TOKEN,
                        port=0,
                        data_dir=tmp_path / "seeker",
                        store_url=store_url,
                        state_url=state_url,
                        poll_interval_s=POLL_S,
                    )
                )
            )
            token = await issue_token(seeker.url, label="grid", uses=givers)
            for n in range(givers):
                await stack.enter_async_context(
                    Giver(
                        GiverConfig(
                            seeker_url=seeker.url,
                            data_dir=tmp_path / f"giver-{n}",
                            name=f"giver-{n}",
                            slots=slots,
                            progress_interval_s=0.2,
                            token=token,
                            **giver_settings,
                        )
                    )
                )
            http = await stack.enter_async_context(aiohttp.ClientSession(headers=OPERATOR_HEADERS))
            async with asyncio.timeout(JOB_TIMEOUT_S):
                while True:
                    async with http.get(f"{seeker.url}/api/v1/givers") as response:
                        listed = (await response.json())["givers"]
                    if sum(g["online"] for g in listed) == givers:
                        return seeker
                    await asyncio.sleep(POLL_S)

        yield start


async def poll_until(
    fetch: Callable[[], Awaitable[dict[str, Any]]], done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Fetch until `done` holds for what was fetched; return that.

    The state lives behind an HTTP API, so there is no event to wait on: poll.
    """
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while not done(value := await fetch()):  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
    return value


async def submit_and_wait(seeker: Seeker, body: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.post(f"{seeker.url}/api/v1/jobs", data=canonical.dumps(body)) as r:
            assert r.status == 201, await r.text()
            job = await r.json()
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while job["status"] != "done":
                await asyncio.sleep(POLL_S)
                async with http.get(f"{seeker.url}/api/v1/jobs/{job['job_id']}") as r:
                    job = await r.json()
        return job


async def export(seeker: Seeker, job_id: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/jobs/{job_id}/records") as response:
            assert response.status == 200
            return [canonical.loads(line) for line in (await response.read()).splitlines()]


async def counted_runs(seeker: Seeker, job_id: str) -> list[Run]:
    assert seeker.coordinator is not None
    return [run async for block in seeker.coordinator.keys.blocks(job_id) for run in block.runs]


async def runs_by_block(seeker: Seeker, job_id: str) -> dict[str, list[Run]]:
    """The counted runs of a job, by the block their copies ran."""
    by_block: dict[str, list[Run]] = {}
    for run in await counted_runs(seeker, job_id):
        by_block.setdefault(run.task_id.rpartition(".")[0], []).append(run)
    return by_block


def catalog_job(image: str, site_url: str, **fields: Any) -> dict[str, Any]:
    """A job of the catalog scraper over products 1 to 20 of the demo shop, in 4 blocks."""
    return {
        "image": image,
        "range": [1, 21],
        "block_size": 5,
        "network": "host",
        "settings": {"base_url": site_url},
        **fields,
    }


def disputed_job(image: str, **fields: Any) -> dict[str, Any]:
    """A job of the faulty scraper whose two copies of each of its 2 blocks return
    different records (`random` mode), with no extra copy to settle it: every key
    fails for want of a quorum."""
    return {
        "image": image,
        "keys": ["a", "b", "c", "d"],
        "block_size": 2,
        "settings": {"mode": "random"},
        "replicas": 2,
        "quorum": 2,
        "max_extra_copies": 0,
        **fields,
    }
