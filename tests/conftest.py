"""Fixtures over real services: the Docker Engine, FerretDB, Chromium, the demo
site, a Seeker, and a grid of a Seeker and Givers running real jobs. Each is
defined here once; helpers the tests share are in support/.

A service the tests need and cannot find fails the run; nothing is skipped.
`./scripts/setup` installs and builds everything these fixtures use.
"""

import asyncio
import contextlib
import functools
import gc
import logging
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import demo_site
import docker
import pytest
from ferretdb import FerretDBError, running_ferretdb
from playwright.async_api import Browser, async_playwright
from pymongo import AsyncMongoClient
from support import egress
from support.api import Grid, issue_token
from support.base import (
    CATALOG_IMAGE,
    FAULTY_IMAGE,
    HOSTILE_IMAGE,
    JOB_TIMEOUT_S,
    JSONAPI_IMAGE,
    LINKS_IMAGE,
    OPERATOR_HEADERS,
    OPERATOR_TOKEN,
    POLL_S,
    REPO,
)
from support.browser import CHROMIUM, CHROMIUM_ARGS
from support.compose import build_grid_images
from support.docker import build_test_image, example_image
from support.givers import GiverFactory, Heard
from support.indexes import Commands, unserved
from support.rig import GRACE_S, NOW, Rig

from channel.store import mongoclient
from channel.store.factory import open_channel
from channel.wire.identity import Identity
from giver.daemon import Giver
from giver.egress.gateway import Gateway
from giver.sandbox.docker_runner import DockerRunner
from giver.terms.config import GiverConfig
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.state.base import StateStore
from seeker.state.factory import open_state
from seeker.work.manager import KeyManager

THREAD_JOIN_TIMEOUT_S = 5.0


RUNNER_PROGRESS_INTERVAL_S = 0.1


BLOCKED_LOOP_S = 0.5


# What each marker says a test needs, and the fixtures that bring it.
NEEDS = {
    "docker": {"docker_client"},
    "mongo": {"ferretdb"},
    "browser": {"chromium"},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with what it needs, from the fixtures it uses (directly or
    through others) and the backends it is parametrized over. A module of pure
    logic says `pytestmark = pytest.mark.unit` (./scripts/test -m unit runs those
    alone); such a test may need none of these."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        params = set(map(str, callspec.params.values())) if callspec is not None else set()
        needs = [marker for marker, fixtures in NEEDS.items() if used & fixtures]
        if "mongodb" in params:
            needs.append("mongo")
        if needs and item.get_closest_marker("unit"):
            raise pytest.UsageError(f"{item.nodeid} is marked unit but needs {', '.join(needs)}")
        for marker in needs:
            item.add_marker(marker)


@pytest.fixture(scope="session", autouse=True)
def operator_cli() -> Iterator[None]:
    """`seeker` commands the tests run send OPERATOR_TOKEN."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEEKGIVE_TOKEN", OPERATOR_TOKEN)
        yield


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


@pytest.fixture(scope="session")
def grid_images(docker_client: docker.DockerClient) -> str:
    """The daemon images seekgive/seeker, channel and giver, built by images/grid/build
    from the local base; their version."""
    return build_grid_images()


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


@pytest.fixture(scope="session")
def faulty_image(docker_client: docker.DockerClient) -> str:
    """A scraper that misbehaves on demand (tests/scrapers/faulty), built from the local base."""
    return build_test_image("faulty", FAULTY_IMAGE)


@pytest.fixture(scope="session")
def hostile_image(docker_client: docker.DockerClient) -> str:
    """A scraper that attacks its sandbox on demand (tests/scrapers/hostile)."""
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


@pytest.fixture
def new_tag(docker_client: docker.DockerClient) -> Iterator[str]:
    """A tag no image has yet; whatever the test tags with it is untagged at the end."""
    tag = f"seekgive-test/tag:{uuid.uuid4().hex[:12]}"
    yield tag
    try:
        docker_client.images.remove(tag)
    except docker.errors.ImageNotFound:
        pass


@pytest.fixture(scope="session")
def sdk_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the wheels of seekgive-sdk (built from images/sdk) and pip, written
    by `images/build --write-wheels`, as the example images install the SDK from."""
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, str(REPO / "images" / "build"), "--write-wheels", str(wheels)],
        check=True,
        capture_output=True,
    )
    return wheels


@pytest.fixture
async def demo_site_url() -> AsyncIterator[str]:
    """The demo shop served on 127.0.0.1 for the length of one test."""
    runner, url = await demo_site.serve()
    yield url
    await runner.cleanup()


@pytest.fixture
async def site_gateway(tmp_path: Path, demo_site_url: str) -> AsyncIterator[Gateway]:
    """An egress gateway through which scrapers reach the demo shop, and nothing
    else of this machine."""
    async with egress.serving(tmp_path / "gateway", demo_site_url) as gateway:
        yield gateway


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
def mongo_commands(ferretdb: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every query the stores send to FerretDB during the test, checked when it ends:
    one that no index the store created would serve on MongoDB fails the test,
    naming it (support/indexes.py). Every store's client is made by
    channel.store.mongoclient, which is given a command listener here. (A plain
    fixture, so that a test may ask for it while it runs.)"""
    commands = Commands()
    listened = functools.partial(AsyncMongoClient, event_listeners=[commands])
    monkeypatch.setattr(mongoclient, "AsyncMongoClient", listened)
    yield
    found = asyncio.run(unserved(f"mongodb://{ferretdb}/?directConnection=true", commands))
    if found:
        pytest.fail("queries no index serves on MongoDB:\n" + "\n".join(found), pytrace=False)


@pytest.fixture
def mongo_url(ferretdb: str, mongo_commands: None) -> str:
    """A URL to a fresh database on the FerretDB server, whose queries are checked
    against its indexes (`mongo_commands`)."""
    return f"mongodb://{ferretdb}/t{uuid.uuid4().hex[:12]}?directConnection=true"


@pytest.fixture(params=["sqlite", "mongodb"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each store backend in turn: SQLite files, then a fresh FerretDB database."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The Channel's store on `backend`."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/channel.sqlite3"
    return str(request.getfixturevalue("mongo_url"))


@pytest.fixture
def state_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The Seeker's state store on `backend` (the same database as `store_url`'s on
    MongoDB)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/seeker.sqlite3"
    return str(request.getfixturevalue("mongo_url"))


@pytest.fixture
async def state_store(state_url: str) -> AsyncIterator[StateStore]:
    """The Seeker's state store on `backend`, opened; closed at the end."""
    store = await open_state(state_url)
    yield store
    await store.close()


@pytest.fixture
async def rig(state_url: str, store_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    """A key manager on `backend`'s stores, with three Givers registered (support.rig)."""
    async with AsyncExitStack() as stack:
        channel = await stack.enter_async_context(await open_channel(store_url))
        state = await open_state(state_url)
        stack.push_async_callback(state.close)
        givers = {name: Identity.generate() for name in ("A", "B", "C")}
        for identity in givers.values():
            await channel.register_giver(identity.id, identity.public_key)
        keys = KeyManager(state, channel, lease_grace_s=GRACE_S)
        await keys.load(NOW)
        yield Rig(keys, channel, tmp_path / "scratch", state_url, givers)


@pytest.fixture
async def grid(tmp_path: Path, docker_client: docker.DockerClient) -> AsyncIterator[Grid]:
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


@pytest.fixture
async def seeker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Seeker]:
    """A Seeker on a free loopback port with the tests' operator token, its stores in
    tmp_path; a module or test changes its settings with
    `@pytest.mark.seeker_config(open_registration=True, ...)`."""
    marker = request.node.get_closest_marker("seeker_config")
    settings: dict[str, Any] = {
        "port": 0,
        "data_dir": tmp_path / "seeker",
        "operator_token": OPERATOR_TOKEN,
        "poll_interval_s": 0.05,
        **(marker.kwargs if marker is not None else {}),
    }
    async with Seeker(SeekerConfig(**settings)) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client that sends the tests' operator token and keeps cookies, even
    from 127.0.0.1."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS, cookie_jar=jar) as session:
        yield session


@pytest.fixture
def heard(seeker: Seeker, monkeypatch: pytest.MonkeyPatch) -> Heard:
    """Every message the `seeker` fixture's coordinator handles, as it handles it."""
    assert seeker.coordinator is not None
    heard = Heard(seeker.coordinator)
    monkeypatch.setattr(seeker.coordinator, "on_message", heard.on_message)
    return heard


@pytest.fixture
async def giver(
    seeker: Seeker, tmp_path: Path, docker_client: docker.DockerClient
) -> AsyncIterator[GiverFactory]:
    """Make Givers of the `seeker` fixture (not started), quick to report and to dial
    again; each is stopped when the test ends."""
    async with AsyncExitStack() as stack:

        def make(name: str, slots: int = 1, **settings: Any) -> Giver:
            quick = {"progress_interval_s": 0.2, "reconnect_max_s": 0.2}
            made = Giver(
                GiverConfig(
                    seeker_url=seeker.url,
                    data_dir=tmp_path / name,
                    name=name,
                    slots=slots,
                    **{**quick, **settings},
                )
            )
            stack.push_async_callback(made.stop)
            return made

        yield make
