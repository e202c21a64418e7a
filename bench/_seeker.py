"""A `seeker run` process for a bench: started on a free port with its default
stores in a data dir of its own, its operator token read, waited for, stopped."""

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import ferretdb

from seeker.cli.client import SeekerClient
from seeker.errors import SeekerError

SEEKER_START_TIMEOUT_S = 60.0
SEEKER_STOP_TIMEOUT_S = 15.0
SEEKER_POLL_S = 0.1


@contextlib.contextmanager
def running_seeker(data_dir: Path, *args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """A `seeker run ARGS` process on a free port, its output in a log beside
    `data_dir`; yields it and its URL, stops it after."""
    port = ferretdb.free_port()
    data_dir.mkdir(parents=True)
    with (data_dir.parent / f"{data_dir.name}.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("seeker")),
                "run",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                *args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        try:
            yield process, f"http://127.0.0.1:{port}"
        finally:
            ferretdb.stop_process(process, SEEKER_STOP_TIMEOUT_S)


async def operator_token(data_dir: Path, process: subprocess.Popen) -> str:
    """The operator token a new Seeker writes to its data dir before it listens."""
    token_file = data_dir / "operator.token"
    deadline = time.monotonic() + SEEKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Seeker exited with code {process.returncode} on start")
        with contextlib.suppress(FileNotFoundError):
            if token := token_file.read_text().strip():
                return token
        await asyncio.sleep(SEEKER_POLL_S)
    raise SystemExit(f"the Seeker wrote no {token_file} within {SEEKER_START_TIMEOUT_S:.0f} s")


async def wait_for_seeker(client: SeekerClient, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SEEKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Seeker exited with code {process.returncode} on start")
        with contextlib.suppress(SeekerError):
            await client.jobs()
            return
        await asyncio.sleep(SEEKER_POLL_S)
    raise SystemExit(f"the Seeker did not answer within {SEEKER_START_TIMEOUT_S:.0f} s")
