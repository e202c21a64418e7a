"""The Giver's session against a stand-in Seeker on 127.0.0.1: what `drain()` and
`on_open` promise."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from channel.wire.identity import Identity
from channel.wire.messages import (
    Cancel,
    Challenge,
    Hello,
    Message,
    Progress,
    Release,
    decode,
    encode,
)
from giver.link.session import SESSION_PATH, Dialler, Session

WAIT_S = 10.0
BIG_REASON = "x" * (1024 * 1024)
BIG_MESSAGES = 32


@dataclass
class Peer:
    """A stand-in Seeker: challenges, then keeps what the Giver sends.

    It greets the Giver with a Cancel so the test knows the session is open. With
    `reading` cleared it stops reading; setting `drop` cuts the connection.
    """

    url: str = ""
    received: list[Message] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    reading: asyncio.Event = field(default_factory=asyncio.Event)
    drop: asyncio.Event = field(default_factory=asyncio.Event)

    async def session(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_bytes(encode(Challenge("nonce")))
        hello = decode((await ws.receive()).data)
        assert isinstance(hello, Hello)
        await ws.send_bytes(encode(Cancel("hello")))
        waiting_drop = asyncio.ensure_future(self.drop.wait())
        try:
            while True:
                await self.reading.wait()
                frame = asyncio.ensure_future(ws.receive())
                await asyncio.wait({frame, waiting_drop}, return_when=asyncio.FIRST_COMPLETED)
                if waiting_drop.done():
                    frame.cancel()
                    assert request.transport is not None
                    request.transport.abort()
                    return ws
                if frame.result().type is not WSMsgType.BINARY:
                    return ws
                self.received.append(decode(frame.result().data))
                self.arrived.set()
        finally:
            waiting_drop.cancel()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    peer = Peer()
    peer.reading.set()
    app = web.Application()
    app.router.add_get(SESSION_PATH.format(giver_id="{giver_id}"), peer.session)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    peer.url = f"http://127.0.0.1:{port}"
    yield peer
    await runner.cleanup()


@dataclass
class Dialled:
    """A Session, the Dialler that would keep it open with `peer`, and an event set once
    the session is open."""

    session: Session
    dialler: Dialler
    opened: asyncio.Event


def dialled(
    http: aiohttp.ClientSession, peer: Peer, on_open: Callable[[], None] | None = None
) -> Dialled:
    opened = asyncio.Event()
    identity = Identity.generate()

    async def on_message(message: Message) -> None:
        opened.set()

    async def register() -> None:
        pass

    session = Session(
        identity, on_message=on_message, on_challenge=lambda challenge: None, on_open=on_open
    )
    dialler = Dialler(
        http, peer.url, session, giver_id=identity.id, reconnect_max_s=0.1, register=register
    )
    return Dialled(session, dialler, opened)


@pytest.fixture
def session(http: aiohttp.ClientSession, peer: Peer) -> Dialled:
    return dialled(http, peer)


async def run(session: Dialled) -> asyncio.Task[None]:
    task = asyncio.create_task(session.dialler.run())
    async with asyncio.timeout(WAIT_S):
        await session.opened.wait()
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_without_a_connection_nothing_is_queued_or_drained(session: Dialled) -> None:
    giver_session = session.session
    assert giver_session.send(Progress("t", 0, 1)) is False
    assert await giver_session.drain() is False


async def test_drain_returns_once_everything_queued_is_written(
    peer: Peer, session: Dialled
) -> None:
    giver_session = session.session
    task = await run(session)
    try:
        sent = [Progress("t", n, 100) for n in range(100)]
        assert all(giver_session.send(m) for m in sent)
        async with asyncio.timeout(WAIT_S):
            assert await giver_session.drain() is True
            while len(peer.received) < len(sent):
                peer.arrived.clear()
                await peer.arrived.wait()
        assert peer.received == sent
    finally:
        await stop(task)


async def test_drain_ends_when_the_connection_drops(peer: Peer, session: Dialled) -> None:
    giver_session = session.session
    task = await run(session)
    try:
        peer.reading.clear()
        for _ in range(BIG_MESSAGES):
            giver_session.send(Release("t", BIG_REASON))
        # More than the socket buffers hold: the writer blocks until the drop.
        draining = asyncio.ensure_future(giver_session.drain())
        peer.drop.set()
        peer.reading.set()
        async with asyncio.timeout(WAIT_S):
            assert await draining is False
    finally:
        await stop(task)


async def test_on_open_may_send_at_once(http: aiohttp.ClientSession, peer: Peer) -> None:
    """What `on_open` sends is the first thing the Seeker hears after the hello."""

    def say_first() -> None:
        assert giver.session.send(Progress("first", 0, 1))

    giver = dialled(http, peer, on_open=say_first)
    task = await run(giver)
    try:
        async with asyncio.timeout(WAIT_S):
            while not peer.received:
                peer.arrived.clear()
                await peer.arrived.wait()
        assert peer.received[0] == Progress("first", 0, 1)
    finally:
        await stop(task)
