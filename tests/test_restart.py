"""A Seeker killed with SIGKILL in the middle of a job, started again, finishes it
with every key counted exactly once: real processes, real containers."""

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import OPERATOR_HEADERS, free_port, issue_token, operator_token_file

from giver.config import GiverConfig
from giver.daemon import Giver

BIN = Path(sys.executable).parent
JOB_TIMEOUT_S = 120.0
POLL_S = 0.1
KEYS = 60


def spawn(port: int, data_dir: Path, log: Path, args: tuple[str, ...]) -> subprocess.Popen:
    with log.open("ab") as err:
        return subprocess.Popen(
            [
                *(BIN / "seeker", "run", "--port", str(port), "--data-dir", data_dir),
                *("--operator-token-file", operator_token_file(log.parent), *args),
            ],
            stderr=err,
        )


@asynccontextmanager
async def seeker_process(
    port: int, data_dir: Path, log: Path, args: tuple[str, ...]
) -> AsyncIterator[subprocess.Popen]:
    """`seeker run ARGS` as a process, up once its API answers (leading, or standing by
    for another Seeker on the same store); stopped at the end if still running."""
    process = await asyncio.to_thread(spawn, port, data_dir, log, args)
    try:
        async with (
            aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
            asyncio.timeout(JOB_TIMEOUT_S),
        ):
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/api/v1/leader") as response:
                        if response.status in (200, 503):
                            break
                except aiohttp.ClientError:
                    pass
                assert process.poll() is None, await asyncio.to_thread(log.read_text)
                await asyncio.sleep(POLL_S)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait)


async def job_state(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def wait_for(
    http: aiohttp.ClientSession, url: str, done: Any, timeout_s: float = JOB_TIMEOUT_S
) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while not done(job := await job_state(http, url)):  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
    return job


@pytest.mark.parametrize("store", ["sqlite", "mongodb"])
async def test_sigkill_mid_job_then_restart_counts_every_key_once(
    tmp_path: Path, faulty_image: str, store: str, request: pytest.FixtureRequest
) -> None:
    stores: tuple[str, ...] = ()
    if store == "mongodb":
        url = request.getfixturevalue("mongo_url")
        stores = ("--store", url, "--state", url)
    port = free_port()
    seeker_url = f"http://127.0.0.1:{port}"
    data_dir, log = tmp_path / "seeker", tmp_path / "seeker.log"
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession(headers=OPERATOR_HEADERS))
        first = await stack.enter_async_context(seeker_process(port, data_dir, log, stores))
        # Their admissions and the Seeker's key outlive the restart, in the state store.
        token = await issue_token(seeker_url, uses=2)
        for n in range(2):
            await stack.enter_async_context(
                Giver(
                    GiverConfig(
                        seeker_url=seeker_url,
                        data_dir=tmp_path / f"giver-{n}",
                        slots=2,
                        progress_interval_s=0.2,
                        reconnect_max_s=0.5,
                        outbox_retry_max_s=0.5,
                        token=token,
                    )
                )
            )
        body = {
            "image": faulty_image,
            "range": [0, KEYS],
            "block_size": 5,
            "settings": {"mode": "slow", "seconds": 1},
            "limits": {"timeout_s": 30},
        }
        async with http.post(f"{seeker_url}/api/v1/jobs", json=body) as response:
            assert response.status == 201, await response.text()
            job_url = f"{seeker_url}/api/v1/jobs/{(await response.json())['job_id']}"

        before = await wait_for(
            http, job_url, lambda job: job["keys"]["done"] >= 10 and job["keys"]["leased"] > 0
        )
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
        assert before["keys"]["done"] < KEYS

        await stack.enter_async_context(seeker_process(port, data_dir, log, stores))
        job = await wait_for(http, job_url, lambda job: job["status"] == "done")
        assert job["keys"] == {"total": KEYS, "done": KEYS, "failed": 0, "leased": 0, "pending": 0}
        async with http.get(f"{job_url}/records") as response:
            records = [json.loads(line) for line in (await response.read()).splitlines()]
        assert sorted(int(r["key"]) for r in records) == list(range(KEYS))
    assert "Traceback" not in await asyncio.to_thread(log.read_text)
