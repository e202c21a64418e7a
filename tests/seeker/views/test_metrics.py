"""The Seeker's /metrics, parsed as Prometheus parses it: after a real job on real
Givers, for a job still open, and on a Seeker standing by."""

import asyncio
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from support import egress
from support.api import catalog_job
from support.base import JOB_TIMEOUT_S, OPERATOR_HEADERS, OPERATOR_TOKEN, POLL_S
from support.processes import leader_config

from channel.wire import canonical
from seeker.config import SeekerConfig
from seeker.daemon import Seeker

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: aiohttp.ClientSession, seeker: Seeker) -> Samples:
    """Every sample of the Seeker's metrics, by name and labels."""
    async with http.get(f"{seeker.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def series(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> dict[str, Any]:
    async with http.post(url, data=canonical.dumps(body)) as response:
        assert response.status in (200, 201), await response.text()
        return await response.json()


async def test_a_job_run_by_two_givers_shows_in_the_metrics(
    grid: Any, catalog_image: str, demo_site_url: str
) -> None:
    seeker = await grid(allow_local=(egress.site(demo_site_url),))
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        before = await scrape(http, seeker)
        assert value(before, "seekgive_leader") == 1
        assert value(before, "seekgive_givers_online") == 2
        assert value(before, "seekgive_givers_registered") == 2
        assert value(before, "seekgive_tasks_sent_total") == 0
        assert value(before, "seekgive_results_total", outcome="accepted") == 0

        job = await post(
            http, f"{seeker.url}/api/v1/jobs", catalog_job(catalog_image, demo_site_url)
        )
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while job["status"] != "done":
                await asyncio.sleep(POLL_S)
                async with http.get(f"{seeker.url}/api/v1/jobs/{job['job_id']}") as response:
                    job = await response.json()

        after = await scrape(http, seeker)
    assert job["keys"]["total"] == 20
    # The job's keys all finished; a done job's keys leave the open jobs' gauge.
    assert value(after, "seekgive_keys_finished_total") == 20
    for state in ("pending", "leased", "done", "failed"):
        assert value(after, "seekgive_keys", state=state) == 0
    assert value(after, "seekgive_jobs", status="done") == 1
    assert value(after, "seekgive_jobs", status="running") == 0
    assert series(after, "seekgive_job_keys") == {}
    assert value(after, "seekgive_leases") == 0
    # Four blocks, each sent at least once and each counted by a result.
    assert value(after, "seekgive_tasks_sent_total") >= 4
    assert value(after, "seekgive_results_total", outcome="accepted") >= 4
    assert value(after, "seekgive_results_total", outcome="rejected") == 0
    assert value(after, "seekgive_copies_disagreed_total") == 0
    assert 0 <= value(after, "seekgive_loop_lag_p99_seconds") < JOB_TIMEOUT_S
    assert value(after, "seekgive_givers_online") == 2
    assert value(after, "seekgive_givers_flagged") == 0


def config(tmp_path: Path, name: str, mongo_url: str) -> SeekerConfig:
    """A Seeker of the two test_leader runs on one store, taking the operator token."""
    return replace(leader_config(tmp_path, name, mongo_url), operator_token=OPERATOR_TOKEN)


async def test_open_jobs_are_shown_each_and_a_seeker_standing_by_answers_too(
    tmp_path: Path, mongo_url: str
) -> None:
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession(headers=OPERATOR_HEADERS))
        leader = await stack.enter_async_context(Seeker(config(tmp_path, "a", mongo_url)))
        standby = await stack.enter_async_context(Seeker(config(tmp_path, "b", mongo_url)))
        # No Giver: the job's keys wait.
        job = await post(http, f"{leader.url}/api/v1/jobs", {"image": "x:1", "keys": ["a", "b"]})
        job_id = job["job_id"]

        open_job = await scrape(http, leader)
        assert value(open_job, "seekgive_leader") == 1
        assert value(open_job, "seekgive_jobs", status="running") == 1
        assert value(open_job, "seekgive_keys", state="pending") == 2
        assert series(open_job, "seekgive_job_keys") == {
            (("job_id", job_id), ("state", "done")): 0,
            (("job_id", job_id), ("state", "failed")): 0,
            (("job_id", job_id), ("state", "leased")): 0,
            (("job_id", job_id), ("state", "pending")): 2,
        }
        assert value(open_job, "seekgive_givers_online") == 0

        standing_by = await scrape(http, standby)
        assert value(standing_by, "seekgive_leader") == 0
        assert sum(series(standing_by, "seekgive_jobs").values()) == 0

        async with aiohttp.ClientSession() as anyone:
            for seeker, role in ((leader, "leader"), (standby, "standby")):
                async with anyone.get(f"{seeker.url}/healthz") as response:
                    assert response.status == 200
                    assert await response.json() == {"status": "ok", "role": role}
        async with http.get(f"{standby.url}/api/v1/diagnostics") as response:
            assert response.status == 200
            diagnosis = await response.json()
        assert diagnosis["ok"] is True
        assert [c["kind"] for c in diagnosis["checks"]] == [
            "state_store",
            "channel",
            "docker_engine",
        ]

        await post(http, f"{leader.url}/api/v1/jobs/{job_id}/cancel", {})
        cancelled = await scrape(http, leader)
        assert value(cancelled, "seekgive_jobs", status="cancelled") == 1
        assert value(cancelled, "seekgive_jobs", status="running") == 0
        assert series(cancelled, "seekgive_job_keys") == {}
