"""The gateway: an HTTP forward proxy on one unix socket per task, run on an event
loop in a thread of its own, so a large transfer never delays the Giver's loop.

`open(job_id, task_id)` makes a door for a task: a directory holding
`proxy.sock`, which the runner binds into the task's container as `/egress`.
Every connection through that door belongs to that task and job, and is
served by the Forwarder (giver.egress.forwarding), which checks, connects,
moves the bytes and records the exchange. A door takes DOOR_CONNECTIONS
connections at once and all doors together CONNECTIONS; beyond that a
connection gets a 503. `close(door)` shuts the door and cuts its connections
once the task's container is gone. `serving()` runs a gateway of its own,
for a scraper's container run without a Giver.
"""

import asyncio
import contextlib
import os
import secrets
import shutil
import threading
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from channel.wire.sandbox import EGRESS_SOCKET
from giver.egress import proxy
from giver.egress.addresses import AddressRules
from giver.egress.forwarding import Door, Forwarder
from giver.egress.ledger import Ledger
from giver.egress.traffic import Traffic
from giver.errors import GiverError

# AF_UNIX paths hold at most 107 bytes on Linux.
MAX_SOCKET_PATH = 107
# Connections at once through one door, and through all of them: each holds two
# file descriptors of the Giver's.
DOOR_CONNECTIONS = 32
CONNECTIONS = 128
BUSY = f"too many connections at once (at most {DOOR_CONNECTIONS} per task)"
# How long a connection turned away may take to send its request (read, so that
# closing over unread bytes does not reset the connection before it reads why).
BUSY_READ_S = 2.0
# How long a closing door waits for its connections to end once their streams are closed.
CLOSE_WAIT_S = 5.0

T = TypeVar("T")


class GatewayError(GiverError):
    """The gateway cannot open a door (its socket path is too long, it is stopped)."""


class Gateway:
    """Doors under `root` (a directory of its own), whose connections `forwarder`
    serves. `start()` before `open()`; `stop()` at the end."""

    def __init__(self, root: Path, forwarder: Forwarder) -> None:
        self.root = root
        self.forwarder = forwarder
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._doors: set[Door] = set()
        # Connections open through every door; read and written on the gateway's loop.
        self._connections = 0

    def start(self) -> None:
        """Start the gateway's thread; the doors a crashed run left are removed."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, mode=0o755)
        if len(os.fsencode(self.root / ("x" * 12) / EGRESS_SOCKET)) > MAX_SOCKET_PATH:
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
        await asyncio.to_thread(shutil.rmtree, self.root, ignore_errors=True)

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
        await asyncio.to_thread(shutil.rmtree, door.path, ignore_errors=True)

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
                await self.forwarder.serve(door, reader, writer)
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


@contextlib.asynccontextmanager
async def serving(directory: Path, rules: AddressRules) -> AsyncIterator[Gateway]:
    """A gateway of its own under `directory` (its doors, its log, its traffic count,
    no caps), started, and stopped at the end: the way out of a scraper's container
    run without a Giver, by hand or in a baseline."""
    ledger = Ledger(directory)
    ledger.open()
    traffic = Traffic(directory / "traffic.json")
    gateway = Gateway(directory / "egress", Forwarder(rules, traffic, ledger))
    try:
        gateway.start()
        yield gateway
    finally:
        await gateway.stop()
        ledger.close()
