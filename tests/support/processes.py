"""Seekers and Givers as processes of their own: started, waited for, stopped."""

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from seeker.config import SeekerConfig
from support.base import (
    BIN,
    JOB_TIMEOUT_S,
    OPERATOR_HEADERS,
    OPERATOR_TOKEN,
    POLL_S,
    free_port,
    operator_token_file,
    run,
    until_blocking,
)


class Process:
    """A command run in the background, its stderr in a file."""

    def __init__(self, log: Path, *argv: object) -> None:
        self.log_path = log
        with open(log, "ab") as stderr:
            self.popen = subprocess.Popen(
                [str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=stderr
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, marker: str) -> None:
        until_blocking(lambda: marker in self.log(), f"{marker!r} in {self.log_path.name}")

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def stop(self) -> None:
        """SIGTERM (after SIGCONT, in case it was stopped), then wait for the exit."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=JOB_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise


STOP_TIMEOUT_S = 30


# How long a leader's lease lasts in the tests of Seekers sharing a store.
LEADER_LEASE_S = 2.0


def leader_config(tmp_path: Path, name: str, mongo_url: str) -> SeekerConfig:
    return SeekerConfig(
        operator_token=OPERATOR_TOKEN,
        port=0,
        data_dir=tmp_path / name,
        store_url=mongo_url,
        state_url=mongo_url,
        poll_interval_s=POLL_S,
        leader_lease_s=LEADER_LEASE_S,
    )


def shared(mongo_url: str, lease_s: float = LEADER_LEASE_S) -> tuple[str, ...]:
    """`seeker run` arguments for a Seeker sharing `mongo_url` with another, the leader
    lease lasting `lease_s`."""
    return (
        *("--store", mongo_url, "--state", mongo_url),
        *("--leader-lease-s", str(lease_s), "--lease-grace-s", "2"),
    )


def spawn_seeker(port: int, data_dir: Path, log: Path, args: tuple[str, ...]) -> subprocess.Popen:
    with log.open("ab") as err:
        return subprocess.Popen(
            [
                *(BIN / "seeker", "run", "--port", str(port), "--data-dir", data_dir),
                *("--operator-token-file", operator_token_file(log.parent), *args),
            ],
            stderr=err,
        )


async def until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    """Wait until `url` answers 200 or 503 (up, whether or not it leads); fail with
    `log` if `process` exits first."""
    async with (
        aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
        asyncio.timeout(JOB_TIMEOUT_S),
    ):
        while True:
            try:
                async with http.get(url) as response:
                    if response.status in (200, 503):
                        return
            except aiohttp.ClientError:
                pass
            assert process.poll() is None, await asyncio.to_thread(log.read_text)
            await asyncio.sleep(POLL_S)


@asynccontextmanager
async def seeker_process(
    port: int, data_dir: Path, log: Path, args: tuple[str, ...]
) -> AsyncIterator[subprocess.Popen]:
    """`seeker run ARGS` as a process, up once its API answers (leading, or standing by
    for another Seeker on the same store); stopped at the end if still running."""
    process = await asyncio.to_thread(spawn_seeker, port, data_dir, log, args)
    try:
        await until_up(f"http://127.0.0.1:{port}/api/v1/leader", process, log)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait)


@asynccontextmanager
async def front_process(
    port: int, log: Path, upstreams: list[str], *args: str
) -> AsyncIterator[Process]:
    """`seeker front` on `port` for `upstreams` as a process, up once its `/healthz`
    answers (with a leader or without); stopped at the end."""
    flags = [flag for url in upstreams for flag in ("--upstream", url)]
    front = await asyncio.to_thread(
        Process, log, BIN / "seeker", "front", "--port", port, *flags, *args
    )
    try:
        await until_up(f"http://127.0.0.1:{port}/healthz", front.popen, log)
        yield front
    finally:
        await asyncio.to_thread(front.stop)


# Seekers behind a front: a lease long enough that the gap between the leader's
# death and the takeover is seen, and a front that checks often.
FAILOVER_LEASE_S = 6.0
FRONT_CHECK_INTERVAL_S = 0.2


@dataclass(frozen=True)
class Fronted:
    """Two `seeker run` processes on one store behind a `seeker front`: `url` is the
    front's, `upstreams` the Seekers' (the first leads at the start)."""

    url: str
    upstreams: list[str]
    seekers: list[subprocess.Popen]
    front: Process


@asynccontextmanager
async def seekers_behind_front(directory: Path, mongo_url: str) -> AsyncIterator[Fronted]:
    """Two Seekers sharing `mongo_url`, the leader lease lasting FAILOVER_LEASE_S,
    behind a front that asks them who leads every FRONT_CHECK_INTERVAL_S; all stopped
    at the end."""
    ports = [free_port(), free_port()]
    log = directory / "seekers.log"
    async with AsyncExitStack() as stack:
        seekers = [
            await stack.enter_async_context(
                seeker_process(port, directory / name, log, shared(mongo_url, FAILOVER_LEASE_S))
            )
            for port, name in zip(ports, "ab", strict=True)
        ]
        upstreams = [f"http://127.0.0.1:{port}" for port in ports]
        port = free_port()
        front = await stack.enter_async_context(
            front_process(
                port,
                directory / "front.log",
                upstreams,
                *("--check-interval-s", str(FRONT_CHECK_INTERVAL_S)),
            )
        )
        yield Fronted(f"http://127.0.0.1:{port}", upstreams, seekers, front)


@asynccontextmanager
async def giver_process(log_path: Path, *args: object) -> AsyncIterator[asyncio.subprocess.Process]:
    """`giver run ARGS` as a process, its log in `log_path`; SIGTERM'd at the end if
    still running."""
    log = await asyncio.to_thread(open, log_path, "a")
    try:
        process = await asyncio.create_subprocess_exec(BIN / "giver", "run", *args, stderr=log)
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await process.wait()
    finally:
        log.close()


async def giver_cli(*argv: object, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """`giver ARGV` run to its end (with `env` added to the environment): its exit
    code, stdout and stderr."""
    return await run(BIN / "giver", *argv, env=env)
