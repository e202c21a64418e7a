"""A FerretDB server for tests and benches: its SQLite handler, on a free loopback port;
and the small process helpers that needs.

`running_ferretdb(data_dir)` starts the binary `./scripts/setup` builds (or one
on PATH), waits until it listens, yields `host:port` and stops it on the way
out, whatever ends the block. `functional_only` is how a bench names it beside
a timing: FerretDB 1.x scans a whole collection for every find but one by
`_id`, so its timings show the code working, not what MongoDB would take
(the tests prove instead that an index serves every query).
"""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

START_TIMEOUT_S = 30.0
VERSION_TIMEOUT_MS = 5000
STOP_TIMEOUT_S = 10.0
PORT_POLL_S = 0.05


class FerretDBError(Exception):
    """FerretDB is missing or did not start; the message says which and what to do."""


def stop_process(process: subprocess.Popen, timeout_s: float) -> None:
    """Ask `process` to stop (SIGTERM), and kill it if it has not within `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float, process: subprocess.Popen) -> None:
    """Return once 127.0.0.1:`port` accepts connections; FerretDBError if `process`
    exits first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FerretDBError(f"FerretDB exited with code {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(PORT_POLL_S)
    raise FerretDBError(f"FerretDB did not listen on 127.0.0.1:{port} within {timeout_s} s")


def ferretdb_binary() -> Path:
    """`ferretdb` on PATH, else the one in $SEEKGIVE_CACHE/bin (default ~/.cache/seekgive)."""
    cache = Path(os.environ.get("SEEKGIVE_CACHE", Path.home() / ".cache" / "seekgive"))
    binary = Path(shutil.which("ferretdb") or cache / "bin" / "ferretdb")
    if not binary.exists():
        raise FerretDBError(f"FerretDB binary not found at {binary}; run ./scripts/setup")
    return binary


@contextmanager
def running_ferretdb(data_dir: Path, *, start_timeout_s: float = START_TIMEOUT_S) -> Iterator[str]:
    """A FerretDB server keeping its SQLite files (and its log) in `data_dir`;
    yields `host:port`."""
    binary = ferretdb_binary()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with (data_dir / "ferretdb.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary),
                "--handler=sqlite",
                f"--sqlite-url=file:{data_dir}/",
                f"--listen-addr=127.0.0.1:{port}",
                "--debug-addr=-",
                "--state-dir=-",
                "--telemetry=disable",
                "--log-level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for_port(port, start_timeout_s, process)
            yield f"127.0.0.1:{port}"
        finally:
            stop_process(process, STOP_TIMEOUT_S)


async def functional_only(address: str) -> str:
    """The label of the FerretDB at `address` (`host:port`) beside a timing: its
    version, and that its timings are functional only."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        f"mongodb://{address}/?directConnection=true", serverSelectionTimeoutMS=VERSION_TIMEOUT_MS
    )
    try:
        version = (await client.admin.command("buildInfo"))["ferretdbVersion"]
    finally:
        await client.close()
    return f"FerretDB {version.removeprefix('v')} (functional only; scans every find)"
