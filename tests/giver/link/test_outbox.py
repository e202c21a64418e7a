"""The Giver's durable outbox against a real Channel service on 127.0.0.1."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from support.base import free_port

from channel.service.app import make_app
from channel.service.client import ChannelClient
from channel.store.base import Channel
from channel.store.factory import open_channel
from channel.store.rows import JobPolicy
from channel.wire.identity import Identity
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result
from giver.egress.traffic import Traffic
from giver.link.outbox import Outbox

RETRY_MAX_S = 0.05


class LogWaiter(logging.Handler):
    """Sets an event when a record of at least `level` reaches the logger."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.event.set()


@pytest.fixture
def outbox_log() -> Iterator[tuple[LogWaiter, LogWaiter]]:
    """Waiters for the outbox's first warning and first error."""
    logger = logging.getLogger("giver.link.outbox")
    warning, error = LogWaiter(logging.WARNING), LogWaiter(logging.ERROR)
    logger.addHandler(warning)
    logger.addHandler(error)
    yield warning, error
    logger.removeHandler(warning)
    logger.removeHandler(error)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Channel]:
    channel = await open_channel(f"sqlite:///{tmp_path}/c.db")
    await channel.put_job(JobPolicy("j1"))
    yield channel
    await channel.close()


@pytest.fixture
async def identity(store: Channel) -> Identity:
    identity = Identity.generate()
    await store.register_giver(identity.id, identity.public_key)
    return identity


class Service:
    """The Channel's HTTP service over `store`, on a fixed loopback port, started on demand."""

    def __init__(self, store: Channel) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._runner = web.AppRunner(make_app(store))

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()


@pytest.fixture
async def service(store: Channel) -> AsyncIterator[Service]:
    service = Service(store)
    yield service
    await service.stop()


class Delivered:
    """The on_delivered callback: remembers results and signals each one."""

    def __init__(self) -> None:
        self.results: list[Result] = []
        self.event = asyncio.Event()

    def __call__(self, result: Result) -> None:
        self.results.append(result)
        self.event.set()


def make_result(identity: Identity, task_id: str = "t1") -> Result:
    return sign_result(
        identity,
        Result(
            result_id=uuid.uuid4().hex,
            task_id=task_id,
            job_id="j1",
            giver_id="",
            records=[{"key": "a", "data": {"n": 1}}],
            outcomes=[KeyOutcome("a", True)],
            error=None,
            started_at=1.0,
            finished_at=2.0,
        ),
    )


def make_outbox(
    directory: Path, url: str, http: aiohttp.ClientSession, delivered: Delivered | None = None
) -> Outbox:
    return Outbox(
        directory,
        ChannelClient(url, http),
        retry_max_s=RETRY_MAX_S,
        on_delivered=delivered or Delivered(),
        traffic=Traffic(directory.parent / "traffic.json"),
    )


async def test_put_pending_remove_and_reject(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    identity = Identity.generate()
    outbox = make_outbox(tmp_path / "outbox", "http://127.0.0.1:9", http)
    first, second = make_result(identity, "t1"), make_result(identity, "t2")
    await outbox.put(first)
    await outbox.put(second)
    assert sorted(await outbox.pending()) == sorted([first.result_id, second.result_id])
    assert await outbox.load(first.result_id) == first
    await outbox.remove(first.result_id)
    assert await outbox.pending() == [second.result_id]
    await outbox.reject(second.result_id)
    assert await outbox.pending() == []
    assert [p.name for p in outbox.rejected_dir.iterdir()] == [f"{second.result_id}.json"]
    assert [p.name for p in outbox.directory.iterdir()] == ["rejected"]


async def test_result_is_delivered_and_removed(
    tmp_path: Path,
    http: aiohttp.ClientSession,
    service: Service,
    store: Channel,
    identity: Identity,
) -> None:
    await service.start()
    delivered = Delivered()
    result = make_result(identity)
    async with make_outbox(tmp_path / "outbox", service.url, http, delivered) as outbox:
        await outbox.put(result)
        await delivered.event.wait()
        assert await outbox.pending() == []
    assert delivered.results == [result]
    assert await store.results_for_tasks(["t1"]) == [result]


async def test_results_left_in_the_outbox_are_posted_on_start(
    tmp_path: Path,
    http: aiohttp.ClientSession,
    service: Service,
    store: Channel,
    identity: Identity,
) -> None:
    result = make_result(identity)
    await make_outbox(tmp_path / "outbox", service.url, http).put(result)
    (tmp_path / "outbox" / ".half-written.json.tmp").write_bytes(b'{"result_id": ')
    await service.start()
    delivered = Delivered()
    async with make_outbox(tmp_path / "outbox", service.url, http, delivered) as outbox:
        await delivered.event.wait()
        assert await outbox.pending() == []
    assert await store.results_for_tasks(["t1"]) == [result]
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["rejected"]


async def test_result_waits_while_the_channel_is_down(
    tmp_path: Path,
    http: aiohttp.ClientSession,
    service: Service,
    store: Channel,
    identity: Identity,
    outbox_log: tuple[LogWaiter, LogWaiter],
) -> None:
    warning, _ = outbox_log
    delivered = Delivered()
    result = make_result(identity)
    async with make_outbox(tmp_path / "outbox", service.url, http, delivered) as outbox:
        await outbox.put(result)
        await warning.event.wait()
        assert await outbox.pending() == [result.result_id]
        assert delivered.results == []
        await service.start()
        await delivered.event.wait()
        assert await outbox.pending() == []
    assert await store.results_for_tasks(["t1"]) == [result]


async def test_rejected_result_moves_aside(
    tmp_path: Path,
    http: aiohttp.ClientSession,
    service: Service,
    outbox_log: tuple[LogWaiter, LogWaiter],
) -> None:
    _, error = outbox_log
    await service.start()
    delivered = Delivered()
    unregistered = make_result(Identity.generate())
    async with make_outbox(tmp_path / "outbox", service.url, http, delivered) as outbox:
        await outbox.put(unregistered)
        await error.event.wait()
        assert await outbox.pending() == []
    assert delivered.results == []
    assert [p.name for p in outbox.rejected_dir.iterdir()] == [f"{unregistered.result_id}.json"]


async def test_stop_is_idempotent(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    outbox = make_outbox(tmp_path / "outbox", "http://127.0.0.1:9", http)
    await outbox.start()
    await outbox.stop()
    await outbox.stop()
