"""What the tests share besides fixtures: the repository's paths, the images and
tokens the fixtures use, the one polling helper (`until`), and helpers that
drive a Seeker through its API. Test modules import from here, never from
conftest."""

import asyncio
import contextlib
import dataclasses
import inspect
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import docker
import pytest
from ferretdb import free_port as free_port
from playwright.async_api import ConsoleMessage, Dialog, Page
from pymongo import AsyncMongoClient

from channel.wire import canonical
from channel.wire.givers import Capabilities, GiverInfo
from channel.wire.identity import Identity
from channel.wire.messages import Message
from channel.wire.models import Task
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result
from giver.daemon import Giver
from giver.docker_runner import GIVER_LABEL, DockerRunner
from giver.outputs import ContainerExit, ScraperOutput, UntrustedOutput, collect
from seeker.cli.client import SeekerClient
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.grid.coordinator import Coordinator
from seeker.work.blocks import Block
from seeker.work.choice import comparison_digest
from seeker.work.history import Run

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"


BIN = Path(sys.executable).parent


BASE_IMAGE = os.environ.get("BASE_IMAGE", "seekgive/base:bookworm")


CATALOG_IMAGE = "seekgive/catalog:1"


JSONAPI_IMAGE = "seekgive/jsonapi:1"


LINKS_IMAGE = "seekgive/links:1"


FAULTY_IMAGE = "seekgive-test/faulty:1"


HOSTILE_IMAGE = "seekgive-test/hostile:1"


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


def operator_token_file(directory: Path) -> Path:
    """A file holding OPERATOR_TOKEN, for `seeker run --operator-token-file`."""
    path = directory / "operator-token"
    path.write_text(OPERATOR_TOKEN + "\n")
    return path


def example_image(docker_client: docker.DockerClient, tag: str) -> str:
    """`tag`, an example scraper image of images/ that ./scripts/setup builds."""
    try:
        docker_client.images.get(tag)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {tag} is missing; run ./scripts/setup (it builds images/*/)")
    return tag


def build_test_image(name: str, tag: str) -> str:
    """Build tests/scrapers/NAME from the local base as `tag`."""
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "-t",
            tag,
            str(REPO / "tests" / "scrapers" / name),
        ],
        check=True,
        capture_output=True,
    )
    return tag


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


async def run(*argv: object) -> tuple[int, str, str]:
    """Run a command to its end: its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *map(str, argv), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


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


async def until(
    check: Callable[[], Any],
    what: str = "the condition",
    *,
    holds: Callable[[Any], bool] = bool,
    timeout_s: float = JOB_TIMEOUT_S,
) -> Any:
    """Call `check()` (sync or async) until `holds` what it returned (by default:
    until it is true), and return that; AssertionError naming `what` if it does not
    within `timeout_s`.

    The state is spread over sockets or behind an HTTP API, so there is no event
    to wait on: poll.
    """
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                value = check()
                if inspect.isawaitable(value):
                    value = await value
                if holds(value):
                    return value
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise AssertionError(f"waited {timeout_s:.0f} s in vain for {what}") from None


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


GiverFactory = Callable[..., Giver]


class Heard:
    """Every message the Seeker's coordinator handled, in order of arrival."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()
        self._handle = coordinator.on_message

    async def on_message(self, giver_id: str, message: Message) -> None:
        await self._handle(giver_id, message)
        self.messages.append(message)
        self._arrived.set()

    async def wait_for(self, kind: type[Message], count: int = 1) -> list[Any]:
        """The first `count` messages of `kind`, once the Seeker has handled them."""
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while len(found := [m for m in self.messages if isinstance(m, kind)]) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return found[:count]

    async def first(self, matches: Callable[[Message], bool], start: int = 0) -> tuple[int, Any]:
        """The first message from index `start` on that `matches`, and its index."""
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while True:
                for index in range(start, len(self.messages)):
                    if matches(self.messages[index]):
                        return index, self.messages[index]
                start = len(self.messages)
                self._arrived.clear()
                await self._arrived.wait()


async def submit(seeker: Seeker, body: dict[str, Any]) -> str:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.post(f"{seeker.url}/api/v1/jobs", data=canonical.dumps(body)) as r:
            assert r.status == 201, await r.text()
            return (await r.json())["job_id"]


async def job_state(seeker: Seeker, job_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/jobs/{job_id}") as response:
            return await response.json()


async def wait_until_done(seeker: Seeker, job_id: str) -> dict[str, Any]:
    """The job once it is done."""
    return await until(
        lambda: job_state(seeker, job_id), f"job {job_id}", holds=lambda j: j["status"] == "done"
    )


async def givers_view(seeker: Seeker) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/givers") as response:
            assert response.status == 200
            return (await response.json())["givers"]


async def online_givers(seeker: Seeker) -> list[dict[str, Any]]:
    """The Seeker's view of its Givers once one has its session open."""
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while True:
            view = await givers_view(seeker)
            if any(g["online"] for g in view):
                return view
            await asyncio.sleep(POLL_S)


def containers_by_id(docker_client: docker.DockerClient, giver_id: str) -> list[Any]:
    """The containers of Giver `giver_id`, running or not."""
    return docker_client.containers.list(all=True, filters={"label": f"{GIVER_LABEL}={giver_id}"})


CAPS = Capabilities(
    cpus=2, memory_bytes=2**30, arch="amd64", os="linux", docker_version="20.10", slots=1
)


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, Any]:
    data = raw if raw is not None else canonical.dumps(body)
    async with http.request(method, url, data=data) as response:
        return response.status, canonical.loads(await response.read())


def registration(identity: Identity, token: str = "", **changes: Any) -> dict[str, Any]:
    """A Giver's signed registration body (its description changed by `changes`),
    with an admission token if given."""
    info = GiverInfo(
        giver_id=identity.id,
        public_key=identity.public_key,
        name="test",
        capabilities=CAPS,
        signed_at=time.time(),
    )
    info = dataclasses.replace(info, **changes)
    body = {"giver": info.to_wire(), "signature": identity.sign_value(info.to_wire())}
    return {**body, "token": token} if token else body


def result_of(
    giver: Identity, result_id: str, records: list[dict], task_id: str = "j1-00000.1"
) -> Result:
    return sign_result(
        giver,
        Result(
            result_id=result_id,
            task_id=task_id,
            job_id="j1",
            giver_id="",
            records=records,
            outcomes=[KeyOutcome(r["key"], True) for r in records],
            error=None,
            started_at=1.0,
            finished_at=2.0,
        ),
    )


class Process:
    """A command run in the background, its stderr in a file."""

    def __init__(self, log: Path, *argv: object) -> None:
        self.log_path = log
        with open(log, "ab") as stderr:
            self.popen = subprocess.Popen(
                [str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=stderr
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, marker: str) -> None:
        until_blocking(lambda: marker in self.log(), f"{marker!r} in {self.log_path.name}")

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def stop(self) -> None:
        """SIGTERM (after SIGCONT, in case it was stopped), then wait for the exit."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=JOB_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise


STOP_TIMEOUT_S = 30


def copies(block: Block, *givers: str, quorum: int, wanted: int) -> Block:
    keys = block.round.keys if block.round else block.keys
    for giver in givers:
        block = block.leased_to(giver, 0.0, 100.0, keys, quorum=quorum, wanted=wanted)
    return block


def answer(block: Block, giver: str, data: dict, **choose: object) -> Block:
    (lease,) = [c for c in block.copies if c.giver_id == giver]
    result = make_result(lease.task_id, giver, {k: data for k in lease.keys})
    digest = comparison_digest(result, choose.pop("ignore", ()))  # type: ignore[arg-type]
    return block.counted(result, 5.0, digest=digest, **choose)  # type: ignore[arg-type]


# How long a leader's lease lasts in the tests of Seekers sharing a store.
LEADER_LEASE_S = 2.0


def leader_config(tmp_path: Path, name: str, mongo_url: str) -> SeekerConfig:
    return SeekerConfig(
        operator_token=OPERATOR_TOKEN,
        port=0,
        data_dir=tmp_path / name,
        store_url=mongo_url,
        state_url=mongo_url,
        poll_interval_s=POLL_S,
        leader_lease_s=LEADER_LEASE_S,
    )


def spawn_seeker(port: int, data_dir: Path, log: Path, args: tuple[str, ...]) -> subprocess.Popen:
    with log.open("ab") as err:
        return subprocess.Popen(
            [
                *(BIN / "seeker", "run", "--port", str(port), "--data-dir", data_dir),
                *("--operator-token-file", operator_token_file(log.parent), *args),
            ],
            stderr=err,
        )


@asynccontextmanager
async def seeker_process(
    port: int, data_dir: Path, log: Path, args: tuple[str, ...]
) -> AsyncIterator[subprocess.Popen]:
    """`seeker run ARGS` as a process, up once its API answers (leading, or standing by
    for another Seeker on the same store); stopped at the end if still running."""
    process = await asyncio.to_thread(spawn_seeker, port, data_dir, log, args)
    try:
        async with (
            aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
            asyncio.timeout(JOB_TIMEOUT_S),
        ):
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/api/v1/leader") as response:
                        if response.status in (200, 503):
                            break
                except aiohttp.ClientError:
                    pass
                assert process.poll() is None, await asyncio.to_thread(log.read_text)
                await asyncio.sleep(POLL_S)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait)


async def job_at(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def wait_for(
    http: aiohttp.ClientSession, url: str, done: Any, timeout_s: float = JOB_TIMEOUT_S
) -> dict[str, Any]:
    return await until(
        lambda: job_at(http, url), f"the job at {url}", holds=done, timeout_s=timeout_s
    )


def make_result(
    task_id: str, giver: str, records: dict[str, dict], failed: tuple[str, ...] = ()
) -> Result:
    return Result(
        result_id=f"r-{task_id}",
        task_id=task_id,
        job_id="j1",
        giver_id=giver,
        records=[{"key": k, "data": d} for k, d in records.items()],
        outcomes=[KeyOutcome(k, True) for k in records]
        + [KeyOutcome(k, False, "x") for k in failed],
        error=None,
        started_at=0.0,
        finished_at=1.0,
    )


def until_blocking(condition: Callable[[], object], what: str, timeout_s: float = 60.0) -> None:
    """`until` for code that runs outside the event loop: sleeps between tries."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(POLL_S)


LAPTOP = {"width": 1366, "height": 768}


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


class Problems(list[str]):
    """Console errors and uncaught exceptions of a page."""

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.append(f"uncaught: {error}"))
        page.on("dialog", _accept)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.append(f"console: {message.text}")
