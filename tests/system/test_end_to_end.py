"""A Seeker and two Givers run real jobs through real containers.

The Channel's store is a SQLite file or a real MongoDB-wire server (FerretDB);
the scraper reaches the demo shop served on 127.0.0.1 through each Giver's
egress gateway, which allows that shop and nothing else of this machine.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import demo_site
import docker
import pytest
from support import egress
from support.api import Grid, catalog_job, counted_runs, export, runs_by_block, submit_and_wait
from support.base import OPERATOR_HEADERS, OPERATOR_TOKEN, POLL_S, until
from support.docker import containers_by_id

from channel.service.dataset_client import DatasetClient
from channel.wire import canonical
from giver.daemon import Giver
from giver.terms.config import GiverConfig
from seeker.config import SeekerConfig
from seeker.daemon import Seeker


def leftover_containers(docker_client: docker.DockerClient) -> list[str]:
    return [
        c.name for c in docker_client.containers.list(all=True, filters={"label": "seekgive.giver"})
    ]


@pytest.mark.parametrize("store", ["sqlite", "mongodb"])
async def test_a_job_runs_end_to_end_on_two_givers(
    request: pytest.FixtureRequest,
    grid: Grid,
    store: str,
    catalog_image: str,
    demo_site_url: str,
    docker_client: docker.DockerClient,
) -> None:
    store_url = request.getfixturevalue("mongo_url") if store == "mongodb" else ""
    seeker = await grid(store_url=store_url, allow_local=(egress.site(demo_site_url),))
    job = await submit_and_wait(
        seeker,
        {
            "image": catalog_image,
            "range": [1, 101],
            "block_size": 10,
            "network": "bridge",
            "settings": {"base_url": demo_site_url},
        },
    )

    assert job["keys"] == {"total": 100, "done": 100, "failed": 0, "leased": 0, "pending": 0}
    records = await export(seeker, job["job_id"])
    assert sorted(int(r["key"]) for r in records) == list(range(1, 101))
    for record in records:
        expected = demo_site.product(int(record["key"]))
        assert {k: record["data"][k] for k in expected} == expected
    runs = await counted_runs(seeker, job["job_id"])
    assert len({run.result_id for run in runs}) == 10
    assert leftover_containers(docker_client) == []


async def test_failed_tasks_are_recorded_and_the_giver_keeps_serving(
    grid: Grid, faulty_image: str, docker_client: docker.DockerClient
) -> None:
    seeker = await grid(givers=1)
    keys = ["a", "b", "c"]
    jobs = await asyncio.gather(
        *(
            submit_and_wait(
                seeker,
                {
                    "image": faulty_image,
                    "keys": keys,
                    "settings": {"mode": mode},
                    "limits": {"timeout_s": 3},
                    "max_attempts": 1,
                },
            )
            for mode in ("exit", "garbage", "sleep")
        )
    )
    reasons = [job["failures"][0]["reason"] for job in jobs]
    assert "exited with code 3" in reasons[0] and "giving up on purpose" in reasons[0]
    assert reasons[1].startswith("invalidated by giver: records.jsonl line 1: ")
    assert "timed out after 3 s" in reasons[2]
    for job in jobs:
        assert job["keys"]["failed"] == 3 and len(job["failures"]) == 3
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.get(f"{seeker.url}/api/v1/jobs/{jobs[2]['job_id']}/failures") as r:
            failed = [canonical.loads(line) for line in (await r.read()).splitlines()]
    assert sorted(f["key"] for f in failed) == keys
    assert all("timed out after 3 s" in f["reason"] for f in failed)

    healthy = await submit_and_wait(
        seeker, {"image": faulty_image, "keys": keys, "settings": {"mode": "ok"}}
    )
    assert healthy["keys"]["done"] == 3
    assert sorted(r["key"] for r in await export(seeker, healthy["job_id"])) == keys
    assert leftover_containers(docker_client) == []


async def test_a_hostile_scraper_is_contained_and_the_giver_keeps_serving(
    grid: Grid, hostile_image: str, faulty_image: str, docker_client: docker.DockerClient
) -> None:
    seeker = await grid(givers=1)
    keys = ["a", "b"]
    overflowing, bomb = await asyncio.gather(
        *(
            submit_and_wait(
                seeker,
                {
                    "image": hostile_image,
                    "keys": keys,
                    "settings": {"mode": mode},
                    "limits": {"pids": 16, "output_bytes": 2**20},
                    "max_attempts": 1,
                },
            )
            for mode in ("fill_output", "forkbomb")
        )
    )
    assert overflowing["keys"]["failed"] == 2
    assert overflowing["failures"][0]["reason"] == "output exceeded 1 MiB"
    assert bomb["keys"]["done"] == 2
    records = await export(seeker, bomb["job_id"])
    forked = next(r["data"]["result"] for r in records if r["data"]["probe"] == "forked")
    assert 0 < forked < 16
    healthy = await submit_and_wait(
        seeker, {"image": faulty_image, "keys": keys, "settings": {"mode": "ok"}}
    )
    assert healthy["keys"]["done"] == 2
    for job in (overflowing, bomb, healthy):
        # By name: other Givers may be running on this Engine meanwhile.
        assert docker_client.containers.list(all=True, filters={"name": job["job_id"]}) == []


async def test_an_image_the_giver_does_not_have_fails_the_task_with_the_reason(grid: Grid) -> None:
    seeker = await grid(givers=1)
    job = await submit_and_wait(seeker, {"image": "seekgive-test/absent:1", "keys": ["a"]})
    assert job["keys"]["failed"] == 1
    assert "seekgive-test/absent:1" in job["failures"][0]["reason"]


async def test_a_giver_that_stops_releases_its_block_and_another_finishes_the_job(
    tmp_path: Path, faulty_image: str, docker_client: docker.DockerClient
) -> None:
    # The lease would lapse only after timeout_s + lease_grace_s (90 s): well after
    # the 10 s the test waits for the block to come back, so only a release explains it.
    config = SeekerConfig(
        operator_token=OPERATOR_TOKEN,
        port=0,
        data_dir=tmp_path / "seeker",
        poll_interval_s=POLL_S,
        lease_grace_s=60.0,
        open_registration=True,
    )
    async with Seeker(config) as seeker, aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        assert seeker.coordinator is not None

        def giver(name: str) -> Giver:
            return Giver(
                GiverConfig(
                    seeker_url=seeker.url,
                    data_dir=tmp_path / name,
                    name=name,
                    slots=1,
                    progress_interval_s=0.2,
                )
            )

        async def job_state() -> dict[str, Any]:
            async with http.get(f"{seeker.url}/api/v1/jobs/{job['job_id']}") as response:
                return await response.json()

        async with giver("stopping") as stopping:
            body = {
                "image": faulty_image,
                "keys": ["a", "b"],
                "block_size": 2,
                "settings": {"mode": "slow", "seconds": 3},
                "limits": {"timeout_s": 30},
            }
            async with http.post(f"{seeker.url}/api/v1/jobs", data=canonical.dumps(body)) as r:
                job = await r.json()
            await until(lambda: job_state(), holds=lambda job: job["keys"]["leased"] > 0)
            # Running, not merely leased: this Giver has accepted the task (a container
            # another test's Giver is still removing does not count).
            await until(
                lambda: asyncio.to_thread(containers_by_id, docker_client, stopping.id),
                "the stopping Giver's container",
            )
        assert containers_by_id(docker_client, stopping.id) == []
        async with asyncio.timeout(10.0):
            state = await until(lambda: job_state(), holds=lambda job: job["keys"]["leased"] == 0)
        assert state["keys"]["pending"] == 2 and state["status"] == "running"

        async with giver("steady") as steady:
            state = await until(lambda: job_state(), holds=lambda job: job["status"] == "done")
            assert state["keys"]["done"] == 2
            (run,) = await counted_runs(seeker, job["job_id"])
            assert run.giver_id == steady.id != stopping.id


async def test_each_block_runs_on_both_givers_and_counts_once_they_agree(
    grid: Grid, catalog_image: str, demo_site_url: str
) -> None:
    seeker = await grid(allow_local=(egress.site(demo_site_url),))
    job = await submit_and_wait(seeker, catalog_job(catalog_image, demo_site_url, replicas=2))
    assert job["keys"] == {"total": 20, "done": 20, "failed": 0, "leased": 0, "pending": 0}
    assert sorted(int(r["key"]) for r in await export(seeker, job["job_id"])) == list(range(1, 21))
    by_block = await runs_by_block(seeker, job["job_id"])
    assert len(by_block) == 4
    for copies in by_block.values():
        assert sorted(r.role.value for r in copies) == ["agreed", "chosen"]
        assert len({r.giver_id for r in copies}) == 2 and copies[0].digest == copies[1].digest
    assert seeker.coordinator is not None
    for record in seeker.coordinator.trust.records():
        assert record.trust == {catalog_image: 4} and not record.flagged


async def test_bob_processes_a_jobs_records_and_sarah_submits_a_job_over_them(
    grid: Grid, catalog_image: str, demo_site_url: str
) -> None:
    seeker = await grid(allow_local=(egress.site(demo_site_url),))
    settings = {"base_url": demo_site_url}
    common = {"image": catalog_image, "network": "bridge", "settings": settings, "block_size": 5}
    first = await submit_and_wait(seeker, {**common, "range": [1, 21]})

    # Bob keeps the products priced in euros and adds, to each, the product to look at next.
    processed = [
        {**record, "data": {**record["data"], "next": str(int(record["key"]) + 200)}}
        for record in await export(seeker, first["job_id"])
        if record["data"]["currency"] == "EUR"
    ]
    expected = sorted(int(r["key"]) + 200 for r in processed)
    assert len(expected) >= 3
    bob, _ = await seeker.channel.issue_reader(label="Bob", upload=True)
    sarah, _ = await seeker.channel.issue_reader(label="Sarah", datasets=("eur-next",))

    async def body() -> AsyncIterator[bytes]:
        for record in processed:
            yield canonical.dumps(record) + b"\n"

    channel_url = f"{seeker.url}/channel"
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        uploaded = await DatasetClient(channel_url, bob, http).put("eur-next", body())
        assert uploaded.records == len(processed)
        downloaded = b"".join(
            [piece async for piece in DatasetClient(channel_url, sarah, http).download("eur-next")]
        )
    assert [canonical.loads(line) for line in downloaded.splitlines()] == processed

    second = await submit_and_wait(
        seeker, {**common, "from_dataset": {"dataset": "eur-next", "field": "data.next"}}
    )
    assert second["keys"]["total"] == len(expected) and second["keys"]["done"] == len(expected)
    records = await export(seeker, second["job_id"])
    assert sorted(int(r["key"]) for r in records) == expected
    for record in records:
        product = demo_site.product(int(record["key"]))
        assert {k: record["data"][k] for k in product} == product
