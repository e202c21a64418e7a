"""A Seeker killed with SIGKILL in the middle of a job, started again, finishes it
with every key counted exactly once: real processes, real containers."""

import asyncio
import json
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
from support.api import issue_token, wait_for
from support.base import OPERATOR_HEADERS, free_port
from support.processes import seeker_process

from giver.daemon import Giver
from giver.terms.config import GiverConfig

BIN = Path(sys.executable).parent
JOB_TIMEOUT_S = 120.0
POLL_S = 0.1
KEYS = 60


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
