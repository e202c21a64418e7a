"""The work on one connection through a door of the gateway: read the request,
check it, connect, move the bytes, record the exchange.

A request is refused with a 403 whose status line says why (giver.egress.proxy)
when the traffic cap is reached or the volunteer's rules refuse the host, the
port or any address the host resolves to (giver.egress.addresses,
giver.egress.local). Otherwise the Forwarder connects to the first address it
checked, never to the name again, and moves the bytes, paced by the rates and
counted (giver.egress.traffic), cutting the exchange if a cap is reached
meanwhile; then it records the exchange (giver.egress.ledger). It runs on the
gateway's own loop (giver.egress.gateway).

The resolver and the connector are injectable, so the checks can be tested
without resolving or reaching anything.
"""

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from channel.wire.sandbox import EGRESS_SOCKET
from giver.egress import proxy
from giver.egress.addresses import AddressRules, IPAddress, LocalKind
from giver.egress.ledger import Exchange, Ledger
from giver.egress.local import Neighbourhood
from giver.egress.traffic import Direction, Traffic

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
HEAD_TIMEOUT_S = 30.0
RESOLVE_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 120.0
LOOPBACK = ipaddress.ip_address("127.0.0.1")

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
Connector = Callable[[IPAddress, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


def written_address(host: str) -> IPAddress | None:
    """The address `host` names without asking a resolver: an IP address as written,
    or loopback for `localhost` and names under it (RFC 6761), whatever this
    machine's resolver would say; None for any other name."""
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return LOOPBACK
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


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
        return self.path / EGRESS_SOCKET


class Forwarder:
    """Serves connections through doors: checks by `rules` (and `local`, this
    machine's own addresses and networks), counts in `traffic`, records in `ledger`."""

    def __init__(
        self,
        rules: AddressRules,
        traffic: Traffic,
        ledger: Ledger,
        *,
        resolver: Resolver = resolve,
        connector: Connector = connect,
        local: LocalKind | None = None,
    ) -> None:
        self.rules = rules
        self.traffic = traffic
        self.ledger = ledger
        self._resolve = resolver
        self._connect = connector
        self._local = local or Neighbourhood().kind

    async def serve(
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
            why = f"cannot connect to {request.host} port {request.port}: {_why(e)}"
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
        reason = self.rules.host_refusal(request.host, request.port)
        if reason is not None:
            return reason
        written = written_address(request.host)
        if written is not None:
            addresses = [written]
        else:
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
        log.debug("task %s: egress refused: %s", self.door.task_id, reason)

    def fail(self, reason: str) -> None:
        self.outcome, self.reason = "failed", reason

    def cut(self, reason: str) -> None:
        self.outcome, self.reason = "cut", reason
        log.debug("task %s: egress cut: %s", self.door.task_id, reason)

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


def _why(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
