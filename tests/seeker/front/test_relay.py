"""The front in this process, before two small upstreams on loopback that the test
makes lead or stand by: what crosses it, how it follows the leader, and what it
answers with none. The front checks who leads only when told to (an hour apart),
so each change here is seen when a request finds the chosen upstream standing by.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler
from support.base import JOB_TIMEOUT_S, free_port

from channel.jsonweb import error_response, json_response
from seeker.front.config import FrontConfig
from seeker.front.daemon import Front

NEVER_S = 3600.0


class Upstream:
    """A stand-in for a Seeker: leads or stands by as the test says, and echoes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.leads = False
        # Whether it dies on a request to /echo (stops leading, drops the connection).
        self.dies = False
        self.url = ""
        self.release = asyncio.Event()
        # Set when the front let go of a slow answer before its end.
        self.let_go = asyncio.Event()
        # The codes of the sessions the other side closed.
        self.closed_with: asyncio.Queue[int | None] = asyncio.Queue()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(middlewares=[self._standing_by])
        app.router.add_get("/api/v1/leader", self._leader)
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @web.middleware
    async def _standing_by(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.leads or request.path == "/api/v1/leader":
            return await handler(request)
        return error_response(503, "not_leader", f"{self.name} stands by")

    async def _leader(self, request: web.Request) -> web.Response:
        return json_response({"leader": self.leads}, status=200 if self.leads else 503)

    async def _echo(self, request: web.Request) -> web.Response:
        if self.dies:
            self.leads = False
            assert request.transport is not None
            request.transport.close()
        return json_response(
            {
                "name": self.name,
                "method": request.method,
                "path": request.raw_path,
                "body": (await request.read()).decode(),
                "host": request.host,
                "x_forwarded_for": request.headers.get("X-Forwarded-For"),
                "connection_named": request.headers.get("X-Hop"),
            }
        )

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first\n")
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.let_go.set()
            raise
        await response.write(b"second\n")
        await response.write_eof()
        return response

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for frame in ws:
            if frame.type is WSMsgType.TEXT and frame.data.startswith("close "):
                await ws.close(code=int(frame.data.split()[1]), message=b"asked to")
                return ws
            elif frame.type is WSMsgType.TEXT:
                await ws.send_str(f"{self.name}: {frame.data}")
            elif frame.type is WSMsgType.BINARY:
                await ws.send_bytes(frame.data[::-1])
        self.closed_with.put_nowait(ws.close_code)
        return ws


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Upstream, Upstream, Front, aiohttp.ClientSession]]:
    """Upstreams a (leading) and b (standing by), a front before them, and a client."""
    async with AsyncExitStack() as stack:
        a, b = Upstream("a"), Upstream("b")
        for upstream in (a, b):
            await upstream.start()
            stack.push_async_callback(upstream.stop)
        a.leads = True
        config = FrontConfig((a.url, b.url), port=free_port(), check_interval_s=NEVER_S)
        front = await stack.enter_async_context(Front(config))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        yield a, b, front, http


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def test_a_request_passes_whole_with_its_host_and_the_client_named(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, _, front, http = setup
    async with http.put(
        f"{front.url}/echo?x=1&y=%26",
        data=b"a body",
        headers={"Connection": "X-Hop", "X-Hop": "1", "Host": "grid.example"},
    ) as response:
        assert response.status == 200
        assert await response.json() == {
            "name": "a",
            "method": "PUT",
            "path": "/echo?x=1&y=%26",
            "body": "a body",
            "host": "grid.example",
            "x_forwarded_for": "127.0.0.1",
            "connection_named": None,
        }
    assert await get(http, f"{front.url}/healthz") == (200, {"status": "ok", "leader": a.url})


async def test_a_slow_answer_arrives_as_written_until_its_client_goes_away(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, _, front, http = setup
    for stays in (True, False):
        a.release.clear()
        async with http.get(f"{front.url}/slow") as response:
            assert await response.content.readline() == b"first\n"
            if stays:
                a.release.set()
                assert await response.content.read() == b"second\n"
            else:
                response.close()
    # The front let go of the leader's answer at once, not at its next write.
    async with asyncio.timeout(JOB_TIMEOUT_S):
        await a.let_go.wait()


async def test_an_answer_still_streaming_from_the_old_leader_is_cut(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, b, front, http = setup
    async with http.get(f"{front.url}/slow") as response:
        assert await response.content.readline() == b"first\n"
        a.leads, b.leads = False, True
        assert (await get(http, f"{front.url}/echo"))[1]["name"] == "b"
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.content.read()
    async with asyncio.timeout(JOB_TIMEOUT_S):
        await a.let_go.wait()


async def test_a_stale_choice_is_checked_again_and_a_request_without_a_body_sent_on(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, b, front, http = setup
    a.leads, b.leads = False, True
    async with http.post(f"{front.url}/echo", data=b"sent once") as response:
        # Its body went to a: it is not sent twice.
        assert response.status == 503
        assert (await response.json())["code"] == "not_leader"
    status, body = await get(http, f"{front.url}/echo")
    assert (status, body["name"]) == (200, "b")
    assert await get(http, f"{front.url}/healthz") == (200, {"status": "ok", "leader": b.url})


async def test_an_upstream_that_is_gone_is_passed_over(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, b, front, http = setup
    await a.stop()
    b.leads = True
    async with http.post(f"{front.url}/echo", data=b"whole") as response:
        # Nothing reached a: the request, body and all, goes to b.
        assert (await response.json())["body"] == "whole"


async def test_a_get_the_leader_died_on_is_sent_on_and_a_change_is_not(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, b, front, http = setup
    a.dies = b.leads = True
    async with http.post(f"{front.url}/echo", data=b"made?") as response:
        assert response.status == 502
        assert (await response.json())["code"] == "leader_failed"
    a.leads = True
    status, body = await get(http, f"{front.url}/echo")
    assert (status, body["name"]) == (200, "b")


async def test_with_no_leader_the_front_says_so_and_when_to_ask_again(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, _, front, http = setup
    a.leads = False
    for url in (f"{front.url}/echo", f"{front.url}/healthz"):
        async with http.get(url) as response:
            assert (response.status, response.headers["Retry-After"]) == (503, "1")
            assert (await response.json())["code"] == "no_leader"


async def test_frames_and_close_codes_cross_both_ways(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, _, front, http = setup
    async with http.ws_connect(f"{front.url}/socket") as ws:
        await ws.send_str("hello")
        assert await ws.receive_str() == "a: hello"
        await ws.send_bytes(b"\x00\x01\x02")
        assert await ws.receive_bytes() == b"\x02\x01\x00"
        await ws.send_str("close 4001")
        frame = await ws.receive()
        assert (frame.type, frame.data, frame.extra) == (WSMsgType.CLOSE, 4001, "asked to")
    async with http.ws_connect(f"{front.url}/socket") as ws:
        await ws.close(code=4002)
    assert await a.closed_with.get() == 4002


async def test_a_session_is_closed_when_the_leader_changes_and_dials_the_new_one(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    a, b, front, http = setup
    async with http.ws_connect(f"{front.url}/socket") as ws:
        assert (await ws.send_str("one"), await ws.receive_str()) == (None, "a: one")
        a.leads, b.leads = False, True
        # A request finds a standing by: the front checks again and moves to b.
        assert (await get(http, f"{front.url}/echo"))[1]["name"] == "b"
        frame = await ws.receive()
        assert (frame.type, frame.data) == (WSMsgType.CLOSE, 1012)
    async with http.ws_connect(f"{front.url}/socket") as ws:
        assert (await ws.send_str("two"), await ws.receive_str()) == (None, "b: two")


async def test_a_refused_handshake_passes_its_status(
    setup: tuple[Upstream, Upstream, Front, aiohttp.ClientSession],
) -> None:
    _, _, front, http = setup
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"{front.url}/absent")
    assert refused.value.status == 404
