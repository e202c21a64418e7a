"""The gateway on real unix sockets: what it forwards, what it refuses and why,
and what it records. Names resolve through a resolver the test injects, and a
connection to a "public" address goes through a connector the test injects to
a server of its own on loopback: nothing here leaves this machine."""

import asyncio
import contextlib
import ipaddress
import json
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from support.base import until

from giver.egress.addresses import AddressRules, IPAddress
from giver.egress.forwarding import Door, Forwarder
from giver.egress.gateway import DOOR_CONNECTIONS, Gateway
from giver.egress.ledger import Ledger
from giver.egress.traffic import Traffic

pytestmark = pytest.mark.unit

PUBLIC = ipaddress.ip_address("93.184.216.34")
PRIVATE = ipaddress.ip_address("10.0.0.5")
NO_LISTS = AddressRules()
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Site:
    """A server on loopback that answers every request 200 "hello" and keeps the
    request heads it got; `echo` makes it echo instead (a tunnel's far end)."""

    def __init__(self, echo: bool = False, body: bytes = b"hello") -> None:
        self.echo = echo
        self.body = body
        self.heads: list[bytes] = []
        self.after: list[bytes] = []
        self.ended = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> "Site":
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.echo:
                while chunk := await reader.read(1024):
                    writer.write(chunk)
                    await writer.drain()
                return
            self.heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (len(self.body), self.body)
            )
            await writer.drain()
            writer.write_eof()
            self.after.append(await reader.read())  # what came after the head, to the end
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.ended.set()


class Injected:
    """The resolver and the connector the gateway is given: answers by name, and a
    record of every (address, port, thread) connected to, each sent to `site`."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[IPAddress]]] = {}
        self.connected: list[tuple[IPAddress, int, str]] = []
        self.asked: list[str] = []
        self.site_port = 0

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        answers = self.answers.get(host.removesuffix("."))
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]

    async def connect(self, address: IPAddress, port: int) -> Streams:
        self.connected.append((address, port, threading.current_thread().name))
        return await asyncio.open_connection("127.0.0.1", self.site_port)


@pytest.fixture
def injected() -> Injected:
    return Injected()


Make = Callable[..., Awaitable[tuple[Gateway, Door]]]


@pytest.fixture
async def make(tmp_path: Path, injected: Injected) -> AsyncIterator[Make]:
    """Start a gateway with the rules and traffic given, and open a door of job j1."""
    started: list[Gateway] = []

    async def start(
        rules: AddressRules = NO_LISTS, traffic: Traffic | None = None
    ) -> tuple[Gateway, Door]:
        ledger = Ledger(tmp_path)
        ledger.open()
        forwarder = Forwarder(
            rules,
            traffic or Traffic(tmp_path / "traffic.json"),
            ledger,
            resolver=injected.resolve,
            connector=injected.connect,
        )
        gateway = Gateway(tmp_path / "egress", forwarder)
        gateway.start()
        started.append(gateway)
        return gateway, await gateway.open("j1", "t1")

    yield start
    for gateway in started:
        await gateway.stop()
        gateway.forwarder.ledger.close()


async def ask(door: Door, head: str) -> bytes:
    """Send a request head through the door; everything that comes back."""
    reader, writer = await asyncio.open_unix_connection(str(door.socket))
    writer.write(head.encode())
    await writer.drain()
    try:
        return await reader.read()
    finally:
        writer.close()


def status_line(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode()


def get(host: str, port: int, path: str = "/") -> str:
    return (
        f"GET http://{host}:{port}{path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Proxy-Connection: keep-alive\r\n\r\n"
    )


async def test_a_listed_local_site_is_reached_and_the_exchange_is_recorded(
    make: Make, injected: Injected, tmp_path: Path
) -> None:
    async with Site() as site:
        injected.site_port = site.port
        gateway, door = await make(AddressRules.parse((), (), [f"127.0.0.1:{site.port}"]))
        answer = await ask(door, get("127.0.0.1", site.port, "/items/1?x=2"))
    assert status_line(answer) == "HTTP/1.1 200 OK"
    assert answer.endswith(b"hello")
    [head] = site.heads
    assert head.startswith(b"GET /items/1?x=2 HTTP/1.1\r\n")
    assert b"Proxy-Connection" not in head and b"Connection: close\r\n" in head
    # An address literal is never resolved; the connection goes to it.
    assert [(str(a), p) for a, p, _ in injected.connected] == [("127.0.0.1", site.port)]
    await gateway.close(door)
    host = f"127.0.0.1:{site.port}"
    view = gateway.forwarder.ledger.view()["j1"][host]
    assert view["requests"] == 1 and view["outcomes"] == {"2xx": 1}
    assert view["bytes_sent"] == len(head) and view["bytes_received"] == len(answer)
    [line] = (tmp_path / "egress.log").read_text().splitlines()
    logged = json.loads(line)
    assert {k: logged[k] for k in ("job_id", "task_id", "host", "port", "outcome")} == {
        "job_id": "j1",
        "task_id": "t1",
        "host": "127.0.0.1",
        "port": site.port,
        "outcome": "2xx",
    }


async def test_an_unlisted_local_address_is_refused_before_any_connection(
    make: Make, injected: Injected
) -> None:
    gateway, door = await make(AddressRules.parse((), (), ["10.9.9.9"]))
    answer = await ask(door, get("127.0.0.1", 8080))
    assert status_line(answer) == (
        "HTTP/1.1 403 egress refused: 127.0.0.1 is a loopback address (127.0.0.0/8), "
        "which scrapers may not reach"
    )
    assert injected.connected == []
    assert gateway.forwarder.ledger.view()["j1"]["127.0.0.1:8080"]["outcomes"] == {"refused": 1}


async def test_localhost_is_loopback_whatever_the_resolver_says(
    make: Make, injected: Injected
) -> None:
    async with Site() as site:
        injected.site_port = site.port
        _, door = await make(AddressRules.parse((), (), [f"127.0.0.1:{site.port}"]))
        reached = await ask(door, get("localhost", site.port))
        refused = await ask(door, get("api.localhost", 8080))
    assert status_line(reached) == "HTTP/1.1 200 OK"
    assert status_line(refused).endswith(
        "api.localhost resolves to a loopback address (127.0.0.0/8), which scrapers may "
        "reach on its listed port only"
    )
    assert injected.asked == []


async def test_a_name_that_resolves_public_then_private_reaches_only_the_address_checked(
    make: Make, injected: Injected
) -> None:
    """DNS rebinding: the gateway connects to the address it checked, never to the
    name again, and checks every request anew."""
    injected.answers["rebind.example"] = [[PUBLIC], [PRIVATE]]
    async with Site() as site:
        injected.site_port = site.port
        _, door = await make()
        first = await ask(door, get("rebind.example", 80))
        second = await ask(door, get("rebind.example", 80))
    assert status_line(first) == "HTTP/1.1 200 OK"
    assert [(a, p) for a, p, _ in injected.connected] == [(PUBLIC, 80)]
    assert status_line(second) == (
        "HTTP/1.1 403 egress refused: rebind.example resolves to a private address "
        "(10.0.0.0/8), which scrapers may not reach"
    )
    # Each time as an absolute name: no search domain of this machine is tried.
    assert injected.asked == ["rebind.example.", "rebind.example."]


async def test_an_answer_with_any_local_address_is_refused_whole(
    make: Make, injected: Injected
) -> None:
    injected.answers["mixed.example"] = [[PUBLIC, ipaddress.ip_address("fd00:ec2::254")]]
    _, door = await make()
    answer = await ask(door, "CONNECT mixed.example:443 HTTP/1.1\r\n\r\n")
    assert status_line(answer) == (
        "HTTP/1.1 403 egress refused: mixed.example resolves to a cloud metadata address, "
        "which scrapers may not reach"
    )
    assert injected.connected == []


async def test_denied_unlisted_and_unresolvable_hosts_are_refused_with_why(
    make: Make, injected: Injected
) -> None:
    injected.answers["shop.example"] = [[PUBLIC]]
    rules = AddressRules.parse(["*.example"], ["ads.example"], [])
    _, door = await make(rules)
    denied = await ask(door, get("ads.example", 80))
    unlisted = await ask(door, get("shop.test", 80))
    unknown = await ask(door, get("nowhere.example", 80))
    assert status_line(denied).endswith(
        "egress refused: ads.example is denied by the volunteer (deny_hosts ads.example)"
    )
    assert status_line(unlisted).endswith(
        "egress refused: shop.test is not among the volunteer's allow_hosts"
    )
    assert status_line(unknown).endswith(
        "egress refused: nowhere.example does not resolve: Name or service not known"
    )
    assert injected.connected == []


async def test_a_tunnel_carries_bytes_both_ways_and_ends_with_its_door(
    make: Make, injected: Injected
) -> None:
    injected.answers["tls.example"] = [[PUBLIC]]
    async with Site(echo=True) as site:
        injected.site_port = site.port
        gateway, door = await make()
        reader, writer = await asyncio.open_unix_connection(str(door.socket))
        writer.write(b"CONNECT tls.example:443 HTTP/1.1\r\nHost: tls.example:443\r\n\r\n")
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 200 Connection established\r\n\r\n"
        writer.write(b"\x16\x03\x01 client hello")
        assert await reader.readexactly(16) == b"\x16\x03\x01 client hello"
        await gateway.close(door)
        assert await reader.read() == b""  # the door closed under it
        writer.close()
    assert not door.path.exists()
    tally = gateway.forwarder.ledger.view()["j1"]["tls.example:443"]
    assert tally["outcomes"] == {"tunnel": 1}
    assert tally["bytes_sent"] == tally["bytes_received"] == 16
    # The gateway's work runs on its own thread, never on the Giver's loop.
    assert [thread for _, _, thread in injected.connected] == ["egress-gateway"]


async def test_a_tunnel_whose_client_goes_away_ends_and_lets_the_site_go(
    make: Make, injected: Injected
) -> None:
    """A TLS client often closes with the site's last bytes unread, which resets the
    connection: the gateway must not keep the site's side open after it."""
    injected.answers["tls.example"] = [[PUBLIC]]
    async with Site(echo=True) as site:
        injected.site_port = site.port
        gateway, door = await make()
        await asyncio.to_thread(_leave_with_the_answer_unread, door.socket)
        await asyncio.wait_for(site.ended.wait(), timeout=30)
        await until(lambda: gateway.forwarder.ledger.view(), "the exchange recorded", timeout_s=30)
    assert gateway.forwarder.ledger.view()["j1"]["tls.example:443"]["outcomes"] == {"tunnel": 1}


def _leave_with_the_answer_unread(path: Path) -> None:
    """Open a tunnel, send, and close once the echo has come but unread: the close
    then resets the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(path))
        client.sendall(b"CONNECT tls.example:443 HTTP/1.1\r\n\r\n")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += client.recv(1)
        client.sendall(b"close_notify")
        client.recv(1, socket.MSG_PEEK)


async def test_a_reached_traffic_cap_refuses_new_requests_and_says_why(
    make: Make, injected: Injected, tmp_path: Path
) -> None:
    traffic = Traffic(tmp_path / "capped.json", day_cap=1000)
    traffic.count(1000)
    injected.answers["shop.example"] = [[PUBLIC]]
    _, door = await make(traffic=traffic)
    answer = await ask(door, get("shop.example", 80))
    assert status_line(answer) == (
        "HTTP/1.1 403 egress refused: this Giver has used its volunteer's daily traffic cap "
        "(1000 bytes of 1000 bytes); network tasks resume after midnight, local time"
    )
    assert injected.connected == []


async def test_what_a_scraper_moves_counts_against_the_traffic_caps(
    make: Make, injected: Injected, tmp_path: Path
) -> None:
    traffic = Traffic(tmp_path / "counted.json")
    async with Site() as site:
        injected.site_port = site.port
        _, door = await make(AddressRules.parse((), (), [f"127.0.0.1:{site.port}"]), traffic)
        answer = await ask(door, get("127.0.0.1", site.port))
    assert traffic.view()["today_bytes"] == len(site.heads[0]) + len(answer)


async def test_only_the_request_asked_for_reaches_the_site(make: Make, injected: Injected) -> None:
    """Its Host is the one checked, its body is the length it announced, and a
    request pipelined after it goes nowhere."""
    async with Site() as site:
        injected.site_port = site.port
        gateway, door = await make(AddressRules.parse((), (), [f"127.0.0.1:{site.port}"]))
        answer = await ask(
            door,
            f"POST http://127.0.0.1:{site.port}/a HTTP/1.1\r\nHost: victim.example\r\n"
            "Content-Length: 4\r\n\r\nbody"
            f"DELETE http://127.0.0.1:{site.port}/admin HTTP/1.1\r\n\r\n",
        )
        await asyncio.wait_for(site.ended.wait(), timeout=30)
    assert status_line(answer) == "HTTP/1.1 200 OK"
    assert site.heads == [
        f"POST /a HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\nContent-Length: 4\r\n"
        "Connection: close\r\n\r\n".encode()
    ]
    assert site.after == [b"body"]
    assert gateway.forwarder.ledger.view()["j1"][f"127.0.0.1:{site.port}"]["requests"] == 1


async def test_a_door_takes_so_many_connections_at_once(make: Make) -> None:
    _, door = await make()
    held = [await asyncio.open_unix_connection(str(door.socket)) for _ in range(DOOR_CONNECTIONS)]
    try:
        answer = await ask(door, "CONNECT shop.example:443 HTTP/1.1\r\n\r\n")
    finally:
        for _, writer in held:
            writer.close()
    assert status_line(answer) == (
        "HTTP/1.1 503 egress gateway: too many connections at once (at most 32 per task)"
    )


async def test_a_cap_reached_during_a_transfer_cuts_it(
    make: Make, injected: Injected, tmp_path: Path
) -> None:
    traffic = Traffic(tmp_path / "capped.json", day_cap=256 * 1024)
    async with Site(body=b"x" * 4 * 2**20) as site:
        injected.site_port = site.port
        gateway, door = await make(AddressRules.parse((), (), [f"127.0.0.1:{site.port}"]), traffic)
        reader, writer = await asyncio.open_unix_connection(str(door.socket))
        writer.write(get("127.0.0.1", site.port).encode())
        answer = b""
        with contextlib.suppress(ConnectionError):  # cut off mid-answer
            while chunk := await reader.read(65536):
                answer += chunk
        writer.close()
    assert status_line(answer) == "HTTP/1.1 200 OK"
    assert len(answer) < 2**20
    tally = gateway.forwarder.ledger.view()["j1"][f"127.0.0.1:{site.port}"]
    assert tally["outcomes"] == {"cut": 1}
    assert traffic.exhausted()


async def test_an_unreadable_request_gets_a_400_that_says_why(make: Make) -> None:
    _, door = await make()
    answer = await ask(door, "GET https://shop.example/ HTTP/1.1\r\n\r\n")
    assert status_line(answer) == (
        "HTTP/1.1 400 egress gateway: send https:// requests through CONNECT "
        "(as HTTPS_PROXY clients do)"
    )
