"""The gateway: an HTTP forward proxy on one unix socket per task, run on an event
loop in a thread of its own.

`open(job_id, task_id)` makes a door for a task: a directory holding
`proxy.sock`, which the runner binds into the task's container as `/egress`.
Every connection through that door belongs to that task and job. A request
is refused with a 403 whose status line says why (giver.egress.proxy) when the
traffic cap is reached or the volunteer's rules refuse the host or any address
it resolves to (giver.egress.addresses, giver.egress.local); otherwise the gateway connects to the
first address it checked, never to the name again, and moves the bytes,
paced by the rates and counted (giver.egress.traffic), cutting the exchange
if a cap is reached meanwhile, and records the exchange (giver.egress.ledger).
A door takes DOOR_CONNECTIONS connections at once and all doors together
CONNECTIONS; beyond that a connection gets a 503. `close(door)` shuts the door and cuts its
connections once the task's container is gone.

The resolver and the connector are injectable, so the checks can be tested
without resolving or reaching anything.
"""

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from giver.egress import proxy
from giver.egress.addresses import AddressRules, IPAddress, LocalKind
from giver.egress.ledger import Exchange, Ledger
from giver.egress.local import Neighbourhood
from giver.egress.traffic import Direction, Traffic
from giver.errors import GiverError

log = logging.getLogger(__name__)

SOCKET_NAME = "proxy.sock"
# AF_UNIX paths hold at most 107 bytes on Linux.
MAX_SOCKET_PATH = 107
CHUNK_BYTES = 64 * 1024
HEAD_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 120.0
# Connections at once through one door, and through all of them: each holds two
# file descriptors of the Giver's.
DOOR_CONNECTIONS = 32
CONNECTIONS = 128
BUSY = f"too many connections at once (at most {DOOR_CONNECTIONS} per task)"
RESOLVE_TIMEOUT_S = 10.0
BUSY_READ_S = 2.0
# How long a closing door waits for its connections to end once their streams are closed.
CLOSE_WAIT_S = 5.0

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
Connector = Callable[[IPAddress, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
T = TypeVar("T")


class GatewayError(GiverError):
    """The gateway cannot open a door (its socket path is too long, it is stopped)."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order, once each."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _, _, _, _, address in infos:
        ip = ipaddress.ip_address(address[0])
        if ip not in found:
            found.append(ip)
    return found


async def connect(
    address: IPAddress, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to exactly `address`:`port`."""
    return await asyncio.open_connection(str(address), port)


@dataclass(eq=False, slots=True)
class Door:
    """A task's way out: its socket's directory, and the connections through it."""

    path: Path
    job_id: str
    task_id: str
    server: asyncio.Server | None = None
    connections: set["asyncio.Task[None]"] = field(default_factory=set)
    # Both ends of every connection through the door, to close when it shuts.
    streams: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def socket(self) -> Path:
        return self.path / SOCKET_NAME


class Gateway:
    """Doors under `root` (a directory of its own), checked by `rules`, counted by
    `traffic` and recorded in `ledger`. `start()` before `open()`; `stop()` at the end."""

    def __init__(
        self,
        root: Path,
        rules: AddressRules,
        traffic: Traffic,
        ledger: Ledger,
        *,
        resolver: Resolver = resolve,
        connector: Connector = connect,
        local: LocalKind | None = None,
    ) -> None:
        self.root = root
        self.rules = rules
        self.traffic = traffic
        self.ledger = ledger
        self._resolve = resolver
        self._connect = connector
        self._local = local or Neighbourhood().kind
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._doors: set[Door] = set()
        # Connections open through every door; read and written on the gateway's loop.
        self._connections = 0

    def start(self) -> None:
        """Start the gateway's thread; the doors a crashed run left are removed."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, mode=0o755)
        if len(os.fsencode(self.root / ("x" * 12) / SOCKET_NAME)) > MAX_SOCKET_PATH:
            raise GatewayError(
                f"the egress gateway's sockets under {self.root} would be longer than "
                f"{MAX_SOCKET_PATH} bytes; choose a shorter --data-dir"
            )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="egress-gateway", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        """Close every door and end the thread; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        for door in list(self._doors):
            await self.close(door)
        self._loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)
        loop.close()
        shutil.rmtree(self.root, ignore_errors=True)

    async def open(self, job_id: str, task_id: str) -> Door:
        """A new door for a task of `job_id`: its socket is listening when this returns."""
        door = Door(self.root / secrets.token_hex(6), job_id, task_id)
        # Known before it listens, so that stop() closes it whatever becomes of this call.
        self._doors.add(door)
        try:
            await self._on_loop(self._open(door))
        except BaseException:
            await asyncio.shield(self.close(door))
            raise
        return door

    @contextlib.asynccontextmanager
    async def way_out(self, job_id: str, task_id: str, network: str) -> AsyncIterator[Path | None]:
        """For a task whose network is "bridge", a door's directory, open while the
        block runs; None for any other network."""
        if network != "bridge":
            yield None
            return
        door = await self.open(job_id, task_id)
        try:
            yield door.path
        finally:
            await asyncio.shield(self.close(door))

    async def close(self, door: Door) -> None:
        """Shut `door`, cut its connections and remove its socket."""
        self._doors.discard(door)
        if self._loop is not None:
            await self._on_loop(self._close(door))
        shutil.rmtree(door.path, ignore_errors=True)

    async def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            work.close()
            raise GatewayError("the egress gateway is not running")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    async def _open(self, door: Door) -> None:
        door.path.mkdir(mode=0o755)
        os.chmod(door.path, 0o755)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            current = asyncio.current_task()
            assert current is not None
            if len(door.connections) >= DOOR_CONNECTIONS or self._connections >= CONNECTIONS:
                # Its request is read first (briefly): closing over unread bytes would
                # reset the connection before the client reads why.
                unread = (asyncio.IncompleteReadError, asyncio.LimitOverrunError)
                with contextlib.suppress(*unread, ConnectionError, TimeoutError):
                    async with asyncio.timeout(BUSY_READ_S):
                        await reader.readuntil(b"\r\n\r\n")
                writer.write(proxy.answer(503, f"egress gateway: {BUSY}"))
                writer.close()
                return
            door.connections.add(current)
            door.streams.add(writer)
            self._connections += 1
            try:
                await self._serve(door, reader, writer)
            finally:
                self._connections -= 1
                door.connections.discard(current)
                door.streams.discard(writer)
                writer.close()

        door.server = await asyncio.start_unix_server(
            serve, str(door.socket), limit=proxy.MAX_HEAD_BYTES
        )
        # Any uid may connect: the container's user is the image's, or nobody.
        os.chmod(door.socket, 0o666)

    async def _close(self, door: Door) -> None:
        if door.server is not None:
            door.server.close()
        # Closing a connection's streams ends its handler. Cancelling the handler
        # instead makes Python 3.11's asyncio log a traceback for each.
        for stream in list(door.streams):
            stream.close()
        if door.connections:
            await asyncio.wait(set(door.connections), timeout=CLOSE_WAIT_S)
        for connection in list(door.connections):
            connection.cancel()

    async def _serve(
        self, door: Door, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            request = proxy.parse(head)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            return
        except asyncio.LimitOverrunError:
            writer.write(proxy.answer(431, "the request head is larger than 64 KiB"))
            return
        except proxy.BadRequest as e:
            writer.write(proxy.answer(e.status, f"egress gateway: {e}"))
            return
        exchange = _Exchange(door, request)
        try:
            await self._forward(request, exchange, reader, writer)
        finally:
            self.ledger.record(exchange.ended())

    async def _forward(
        self,
        request: proxy.Request,
        exchange: "_Exchange",
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        address = await self._check(request)
        if isinstance(address, str):
            exchange.refuse(address)
            writer.write(proxy.answer(403, f"egress refused: {address}"))
            return
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                upstream_reader, upstream_writer = await self._connect(address, request.port)
            exchange.door.streams.add(upstream_writer)
        except (OSError, TimeoutError) as e:
            named = request.host if str(address) == request.host else f"{request.host} ({address})"
            why = f"cannot connect to {named} port {request.port}: {_why(e)}"
            exchange.fail(why)
            writer.write(proxy.answer(502 if isinstance(e, OSError) else 504, why))
            return
        try:
            if request.tunnel:
                exchange.outcome = "tunnel"
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream_writer.write(request.upstream_head)
                exchange.sent += len(request.upstream_head)
                await self.traffic.pace("up", len(request.upstream_head))
            await self._both_ways(exchange, reader, writer, upstream_reader, upstream_writer)
        except (ConnectionError, TimeoutError):
            pass
        finally:
            exchange.door.streams.discard(upstream_writer)
            upstream_writer.close()

    async def _both_ways(
        self,
        exchange: "_Exchange",
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> None:
        """Copy both ways until the answer ends or the client goes. A client that only
        half-closes still gets the answer; one that keeps its side open (to reuse the
        connection) is not waited for, nor is a site once its client has gone (a TLS
        client often resets the connection rather than close it)."""
        # A plain request's body, and nothing pipelined after it.
        limit = None if exchange.request.tunnel else exchange.request.body_bytes
        up = asyncio.ensure_future(self._pipe(reader, upstream_writer, "up", exchange, limit))
        down = asyncio.ensure_future(self._pipe(upstream_reader, writer, "down", exchange))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            if not down.done() and up.exception() is None:
                await down
        finally:
            for pipe in (up, down):
                pipe.cancel()
            await asyncio.gather(up, down, return_exceptions=True)

    async def _check(self, request: proxy.Request) -> IPAddress | str:
        """The checked address to connect to, or why the request is refused."""
        paused = self.traffic.exhausted()
        if paused:
            return f"this Giver {paused}"
        reason = self.rules.host_refusal(request.host)
        if reason is not None:
            return reason
        try:
            addresses = [ipaddress.ip_address(request.host)]
        except ValueError:
            # Absolute (a trailing dot), so no search domain of this machine is tried.
            name = request.host if request.host.endswith(".") else f"{request.host}."
            try:
                async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                    addresses = await self._resolve(name, request.port)
            except (OSError, UnicodeError, ValueError, TimeoutError) as e:
                return f"{request.host} does not resolve: {_why(e)}"
        reason = self.rules.refusal(request.host, request.port, addresses, self._local)
        return reason if reason is not None else addresses[0]

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        direction: Direction,
        exchange: "_Exchange",
        limit: int | None = None,
    ) -> None:
        """Copy `source` to `sink` until it ends, then half-close `sink`; or copy
        `limit` bytes and leave `sink` open. A traffic cap reached meanwhile cuts the
        exchange."""
        first = direction == "down" and not exchange.request.tunnel
        left = limit
        while left is None or left > 0:
            async with asyncio.timeout(IDLE_TIMEOUT_S):
                chunk = await source.read(CHUNK_BYTES if left is None else min(left, CHUNK_BYTES))
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            if first:
                exchange.outcome, first = proxy.outcome_of(chunk), False
            await self.traffic.pace(direction, len(chunk))
            paused = self.traffic.exhausted()
            if paused:
                exchange.cut(f"this Giver {paused}")
                raise ConnectionAbortedError(paused)
            if direction == "up":
                exchange.sent += len(chunk)
            else:
                exchange.received += len(chunk)
            sink.write(chunk)
            await sink.drain()
        if limit is None:
            with contextlib.suppress(OSError, RuntimeError):
                if sink.can_write_eof():
                    sink.write_eof()


@dataclass(slots=True)
class _Exchange:
    """One request as it goes; `ended()` is what the ledger keeps."""

    door: Door
    request: proxy.Request
    outcome: str = "failed"
    sent: int = 0
    received: int = 0
    reason: str = ""

    def refuse(self, reason: str) -> None:
        self.outcome, self.reason = "refused", reason
        log.info("task %s: egress refused: %s", self.door.task_id, reason)

    def fail(self, reason: str) -> None:
        self.outcome, self.reason = "failed", reason

    def cut(self, reason: str) -> None:
        self.outcome, self.reason = "cut", reason
        log.info("task %s: egress cut: %s", self.door.task_id, reason)

    def ended(self) -> Exchange:
        return Exchange(
            job_id=self.door.job_id,
            task_id=self.door.task_id,
            host=self.request.host,
            port=self.request.port,
            method=self.request.method,
            outcome=self.outcome,
            sent=self.sent,
            received=self.received,
            reason=self.reason,
        )


@contextlib.asynccontextmanager
async def serving(directory: Path, rules: AddressRules) -> AsyncIterator[Gateway]:
    """A gateway of its own under `directory` (its doors, its log, its traffic count,
    no caps), started, and stopped at the end: the way out of a scraper's container
    run without a Giver, by hand or in a baseline."""
    ledger = Ledger(directory)
    ledger.open()
    gateway = Gateway(directory / "egress", rules, Traffic(directory / "traffic.json"), ledger)
    try:
        gateway.start()
        yield gateway
    finally:
        await gateway.stop()
        ledger.close()


def _why(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
