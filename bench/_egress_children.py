"""The child processes of bench/egress.py: the sites (plain HTTP and HTTPS on
127.0.0.1, with a self-signed certificate made for the run) and the gateway (one
door open, the sites in its allow_local), and the bench's handle on each.
"""

import asyncio
import ipaddress
import multiprocessing
import signal
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from giver.egress.addresses import AddressRules
from giver.egress.gateway import serving

HOST = "127.0.0.1"
JOB_ID = "bench-job"
TASK_ID = "bench-task"
CHILD_START_TIMEOUT_S = 30.0
CHILD_STOP_TIMEOUT_S = 10.0
POLL_S = 0.05
SPAWN = multiprocessing.get_context("spawn")


# The sites: a child process -------------------------------------------------------


class Page(asyncio.Protocol):
    """Answers the first request head on a connection with `answer`, then closes it."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.head = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.head += data
        if b"\r\n\r\n" in self.head:
            self.transport.write(self.answer)
            self.transport.close()


def page_answer(page_bytes: int) -> bytes:
    body = (b"<p>" + b"x" * page_bytes)[:page_bytes]
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )


def serve_sites(page_bytes: int, cert: str, key: str, pipe: Connection) -> None:
    """The sites' process: sends their ports (plain, TLS) and serves until the bench
    says stop or is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve_sites(page_bytes, cert, key, pipe))


async def _serve_sites(page_bytes: int, cert: str, key: str, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    answer = page_answer(page_bytes)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    plain = await loop.create_server(lambda: Page(answer), HOST, 0)
    tls = await loop.create_server(lambda: Page(answer), HOST, 0, ssl=context)
    async with plain, tls:
        pipe.send([server.sockets[0].getsockname()[1] for server in (plain, tls)])
        await asked(pipe)


async def asked(pipe: Connection) -> str | None:
    """What the bench says next on `pipe`; None once it is gone."""
    try:
        message: str = await asyncio.to_thread(pipe.recv)
    except EOFError:
        return None
    return message


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A new certificate for HOST, signed by its own key: (certificate, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "seekgive egress bench")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "site.crt", directory / "site.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


# The gateway: a child process ------------------------------------------------------


def run_gateway(work: str, allow_local: list[str], pipe: Connection) -> None:
    """The gateway's process: opens one door and sends its socket's path; answers
    "connections" with how many connections the door holds, and "stop" with what its
    ledger holds for the job, once the gateway is stopped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_run_gateway(Path(work), allow_local, pipe))


async def _run_gateway(work: Path, allow_local: list[str], pipe: Connection) -> None:
    rules = AddressRules.parse((), (), allow_local)
    async with serving(work, rules) as gateway:
        door = await gateway.open(JOB_ID, TASK_ID)
        pipe.send(str(door.socket))
        while (message := await asked(pipe)) == "connections":
            # The set belongs to the gateway's thread; its size is read whole.
            pipe.send(len(door.connections))
    if message == "stop":
        pipe.send(gateway.forwarder.ledger.view().get(JOB_ID, {}))


class Child:
    """A child process running `target(*args, pipe)`, and our end of its pipe; `first`
    is the first thing it sends. It ends when the pipe closes (`end()`)."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        self.name = target.__name__
        self.pipe, theirs = SPAWN.Pipe()
        self.process = SPAWN.Process(target=target, args=(*args, theirs), daemon=True)
        self.process.start()
        theirs.close()
        assert self.process.pid is not None
        self.pid: int = self.process.pid
        self.first = self.receive(CHILD_START_TIMEOUT_S)

    def ask(self, message: str) -> Any:
        self.pipe.send(message)
        return self.receive(CHILD_STOP_TIMEOUT_S)

    def receive(self, timeout_s: float) -> Any:
        if not self.pipe.poll(timeout_s):
            raise SystemExit(f"{self.name} sent nothing within {timeout_s:.0f} s")
        try:
            return self.pipe.recv()
        except EOFError:
            self.process.join(CHILD_STOP_TIMEOUT_S)
            raise SystemExit(f"{self.name} exited with code {self.process.exitcode}") from None

    def end(self) -> None:
        """Close the pipe and wait for the process to exit; kill it if it lingers.
        Safe to call twice."""
        self.pipe.close()
        self.process.join(CHILD_STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def drain(gateway: Child) -> None:
    """Wait until the gateway holds no connection, or CHILD_STOP_TIMEOUT_S has passed."""
    deadline = time.monotonic() + CHILD_STOP_TIMEOUT_S
    while gateway.ask("connections") and time.monotonic() < deadline:
        time.sleep(POLL_S)
