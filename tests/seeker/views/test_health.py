"""Liveness and diagnostics against real services: the stores (SQLite and FerretDB),
the Channel service over HTTP, the Docker Engine, and real Givers asked over their
sessions, one of them with its Docker Engine taken away."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.api import issue_token, registration
from support.base import JOB_TIMEOUT_S, OPERATOR_HEADERS, OPERATOR_TOKEN, POLL_S

from channel.errors import StoreUnavailable
from channel.service.app import make_app as make_channel_app
from channel.store.factory import open_channel
from channel.wire import canonical, messages
from channel.wire.identity import Identity
from giver.daemon import Giver
from giver.terms.config import GiverConfig
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import StateUnavailable
from seeker.state.factory import open_state
from seeker.state.mongo import MongoState
from seeker.views import health
from seeker.views.health import Kind, run_check, without_secrets

RELAY_CHUNK_BYTES = 64 * 1024


async def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as response:
        return response.status, canonical.loads(await response.read())


async def diagnostics(seeker: Seeker) -> dict[str, Any]:
    status, body = await get_json(f"{seeker.url}/api/v1/diagnostics", OPERATOR_HEADERS)
    assert status == 200, body
    return body


def by_kind(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [check for check in body["checks"] if check["kind"] == kind]


def assert_ok(check: dict[str, Any]) -> None:
    assert check["ok"] is True and check["error"] is None, check
    assert isinstance(check["latency_ms"], float) and check["latency_ms"] >= 0


async def wait_online(seeker: Seeker, count: int) -> None:
    """Return once `count` Givers have a session open with `seeker`."""
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while True:
            _, body = await get_json(f"{seeker.url}/api/v1/givers", OPERATOR_HEADERS)
            if sum(g["online"] for g in body["givers"]) == count:
                return
            await asyncio.sleep(POLL_S)


async def test_stores_answer_a_ping_until_closed(store_url: str) -> None:
    state = await open_state(store_url)
    await state.ping()
    await state.close()
    with pytest.raises(StateUnavailable):
        await state.ping()
    channel = await open_channel(store_url)
    await channel.ping()
    await channel.close()
    with pytest.raises(StoreUnavailable):
        await channel.ping()


async def test_a_store_that_never_answers_is_reported_in_one_line_without_its_password() -> None:
    """A MongoDB URL (with a password) at a socket that takes connections and never
    answers: the check fails within the ping's own limit, in one line naming no
    secret. (Not a refused port: PyMongo's monitor, closed while it dials one again,
    leaves that socket unclosed.)"""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"mongodb://seeker:s3cret@127.0.0.1:{port}/state?directConnection=true"
    state = MongoState(url)
    try:
        check = await run_check(
            without_secrets(url), Kind.STATE_STORE, state.ping, health.CHECK_TIMEOUT_S
        )
    finally:
        await state.close()
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()
    assert not check.ok and check.latency_ms is None
    assert check.name == f"mongodb://127.0.0.1:{port}/state"
    assert check.error == "MongoDB error: No servers found yet"
    assert "s3cret" not in canonical.dumps(check.to_wire()).decode()


def test_urls_are_shown_without_credentials_or_options() -> None:
    assert without_secrets("mongodb://u:p%40ss@h1:1,h2:2/db?authSource=admin") == (
        "mongodb://h1:1,h2:2/db"
    )
    assert without_secrets("https://user:pw@channel.example/channel") == (
        "https://channel.example/channel"
    )
    assert without_secrets("sqlite:///data/seeker.sqlite3") == "sqlite:///data/seeker.sqlite3"


async def test_every_service_is_checked_with_its_latency(grid: Any, store_url: str) -> None:
    """On each backend: the state store, the Channel's store, the Seeker's Docker
    Engine and each Giver's, asked over its session."""
    # Both stores on the backend: one MongoDB database, or a SQLite file each.
    seeker = await grid(store_url, state_url=store_url if "mongodb" in store_url else "")
    body = await diagnostics(seeker)
    assert body["ok"] is True
    assert [c["kind"] for c in body["checks"]] == [
        "state_store",
        "channel",
        "docker_engine",
        "docker_engine",
        "docker_engine",
    ]
    for check in body["checks"]:
        assert_ok(check)
    scheme = store_url.partition(":")[0]
    assert by_kind(body, "state_store")[0]["name"].startswith(scheme)
    assert by_kind(body, "channel")[0]["name"].startswith(scheme)
    engines = [c["name"] for c in by_kind(body, "docker_engine")]
    assert engines[0] == "seeker"
    assert sorted(name.rpartition("(")[2] for name in engines[1:]) == ["giver-0)", "giver-1)"]


async def test_liveness_needs_no_token_and_says_the_role(tmp_path: Path) -> None:
    config = SeekerConfig(port=0, data_dir=tmp_path, operator_token=OPERATOR_TOKEN)
    async with Seeker(config) as seeker:
        assert await get_json(f"{seeker.url}/healthz") == (200, {"status": "ok", "role": "leader"})


class EngineRelay:
    """A unix socket relaying to the Docker Engine: the Engine as one Giver sees it.
    Once `cut()`, every connection is hung up at once, as by an Engine that is gone.
    (Not a socket that is gone: docker-py leaves the socket of a failed connect
    unclosed.)"""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._engine = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[Any]] = set()
        self._cut = False

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._relay, path=str(self.path))

    async def cut(self) -> None:
        """Hang up every connection, and every new one at once."""
        self._cut = True
        for relay in self._relays:
            relay.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)

    async def stop(self) -> None:
        """Close the socket and every connection through it; safe twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        await self.cut()
        await server.wait_closed()
        self.path.unlink(missing_ok=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        relay = asyncio.current_task()
        assert relay is not None
        self._relays.add(relay)
        try:
            if self._cut:
                return
            if self._engine.startswith("unix://"):
                up = await asyncio.open_unix_connection(self._engine.removeprefix("unix://"))
            else:
                host, _, port = self._engine.removeprefix("tcp://").rpartition(":")
                up = await asyncio.open_connection(host, int(port))
            pumps = {
                asyncio.ensure_future(_pump(reader, up[1])),
                asyncio.ensure_future(_pump(up[0], writer)),
            }
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
                up[1].close()
        finally:
            writer.close()
            self._relays.discard(relay)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(RELAY_CHUNK_BYTES):
        writer.write(data)
        await writer.drain()


async def test_a_giver_whose_docker_engine_is_gone_is_reported_while_the_others_are_ok(
    grid: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeker = await grid(givers=1)
    async with AsyncExitStack() as stack:
        relay = EngineRelay(tmp_path / "engine.sock")
        await relay.start()
        stack.push_async_callback(relay.stop)
        token = await issue_token(seeker.url, label="relayed", uses=1)
        # The Giver's Engine is the one DOCKER_HOST names when it starts.
        with monkeypatch.context() as patched:
            patched.setenv("DOCKER_HOST", f"unix://{relay.path}")
            config = GiverConfig(
                seeker_url=seeker.url, data_dir=tmp_path / "relayed", name="relayed", token=token
            )
            await stack.enter_async_context(Giver(config))
        await wait_online(seeker, 2)
        before = await diagnostics(seeker)
        assert before["ok"] is True and len(by_kind(before, "docker_engine")) == 3

        await relay.cut()
        after = await diagnostics(seeker)
        assert after["ok"] is False
        engines = {c["name"].rpartition("(")[2]: c for c in by_kind(after, "docker_engine")}
        assert set(engines) == {"seeker", "giver-0)", "relayed)"}
        assert_ok(engines["seeker"])
        assert_ok(engines["giver-0)"])
        gone = engines["relayed)"]
        assert gone["ok"] is False and gone["latency_ms"] is None
        assert gone["error"].startswith("docker: ") and "\n" not in gone["error"]
        for check in by_kind(after, "state_store") + by_kind(after, "channel"):
            assert_ok(check)


async def test_a_giver_that_does_not_know_the_question_is_reported_and_keeps_its_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Giver older than Diagnose drops it as an unknown message: the check says it
    did not answer, an answer with a nonce nobody asked for changes nothing, and
    the session goes on."""
    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.5)
    config = SeekerConfig(
        port=0, data_dir=tmp_path, open_registration=True, operator_token=OPERATOR_TOKEN
    )
    giver = Identity.generate()
    async with Seeker(config) as seeker, aiohttp.ClientSession() as http:
        async with http.post(
            f"{seeker.url}/api/v1/givers", data=canonical.dumps(registration(giver))
        ) as response:
            assert response.status == 200
        async with http.ws_connect(f"{seeker.url}/api/v1/givers/{giver.id}/session") as ws:
            challenge = messages.decode((await ws.receive()).data)
            assert isinstance(challenge, messages.Challenge)
            signature = giver.sign_value(messages.Hello.signed_value(giver.id, challenge.nonce))
            await ws.send_bytes(messages.encode(messages.Hello(giver.id, signature)))
            await wait_online(seeker, 1)

            asked = asyncio.ensure_future(diagnostics(seeker))
            frame = canonical.loads((await ws.receive()).data)
            assert frame["type"] == "diagnose"
            stray = messages.Diagnosis("not-" + frame["nonce"], ok=True, latency_ms=1.0)
            await ws.send_bytes(messages.encode(stray))
            body = await asked

            (engine,) = [c for c in by_kind(body, "docker_engine") if c["name"] != "seeker"]
            assert engine == {
                "name": f"giver {giver.id} (test)",
                "kind": "docker_engine",
                "ok": False,
                "latency_ms": None,
                "error": "no answer in 0.5 s",
            }
            assert body["ok"] is False
            await wait_online(seeker, 1)
            assert not ws.closed


@pytest.fixture
async def channel_service(tmp_path: Path) -> AsyncIterator[tuple[str, Any, Any]]:
    """A Channel service of its own on 127.0.0.1: its URL, its store and its runner."""
    channel = await open_channel(f"sqlite:///{tmp_path}/channel.sqlite3")
    runner = web.AppRunner(make_channel_app(channel))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}", channel, runner
    await runner.cleanup()
    await channel.close()


async def test_a_channel_service_elsewhere_is_checked_over_http(
    tmp_path: Path, channel_service: tuple[str, Any, Any]
) -> None:
    url, channel, runner = channel_service
    assert await get_json(f"{url}/v1/health") == (200, {"ok": True})
    assert await get_json(f"{url}/healthz") == (200, {"ok": True})
    config = SeekerConfig(
        port=0,
        data_dir=tmp_path / "seeker",
        store_url=channel.url,
        channel_url=url,
        operator_token=OPERATOR_TOKEN,
    )
    async with Seeker(config) as seeker:
        store, service = by_kind(await diagnostics(seeker), "channel")
        assert (store["name"], service["name"]) == (channel.url, url)
        assert_ok(store)
        assert_ok(service)

        await channel.close()
        for path in ("/v1/health", "/healthz"):
            assert await get_json(f"{url}{path}") == (
                503,
                {"code": "store_unavailable", "message": "the results store is unavailable"},
            )
        _, service = by_kind(await diagnostics(seeker), "channel")
        assert service["error"] == "the Channel answered 503: the results store is unavailable"

        await runner.cleanup()
        body = await diagnostics(seeker)
        _, service = by_kind(body, "channel")
        assert not service["ok"] and service["error"].startswith("cannot reach the Channel: ")
        assert body["ok"] is False
