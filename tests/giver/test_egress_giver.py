"""The egress rules in a real Giver serving a real Seeker: host networking only
where the volunteer allows it, a reached traffic cap keeping network tasks
away with the reason on both sides, and the live view and the log of where a
job's requests went, with a refusal's reason in the job's failures."""

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support import egress
from support.api import export, givers_view, job_state, submit, submit_and_wait
from support.base import until
from support.givers import GiverFactory

from giver.controls import status
from seeker.daemon import Seeker

pytestmark = pytest.mark.seeker_config(open_registration=True)

HOST_REFUSAL = (
    "the task asks for the host's network, which this Giver's volunteer does not allow "
    "(allow_host_network is off); ask for bridge: the network through the Giver's egress gateway"
)


def probe_job(image: str, network: str, port: int) -> dict[str, Any]:
    """A job of the hostile scraper that connects to 127.0.0.1:`port`."""
    return {
        "image": image,
        "keys": ["a"],
        "network": network,
        "settings": {"mode": "network", "targets": [["127.0.0.1", port]], "name": "localhost"},
        "limits": {"timeout_s": 60},
    }


async def test_host_networking_is_refused_unless_the_volunteer_allows_it(
    seeker: Seeker, giver: GiverFactory, hostile_image: str
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        async with giver("careful"):
            refused = await submit_and_wait(seeker, probe_job(hostile_image, "host", port))
        async with giver("lender", allow_host_network=True):
            job_id = await submit(seeker, probe_job(hostile_image, "host", port))
            await until(lambda: job_state(seeker, job_id), "done", holds=_done)
    [refusal] = refused["refusals"]
    assert refusal["reason"] == HOST_REFUSAL
    assert refused["keys"]["failed"] == 1
    found = {r["data"]["probe"]: r["data"]["result"] for r in await export(seeker, job_id)}
    assert found[f"connect 127.0.0.1:{port}"] == "ok"  # it shared the host's network
    assert found["interfaces"] != ["lo"]


async def test_a_reached_traffic_cap_keeps_network_tasks_away_and_says_why(
    seeker: Seeker, giver: GiverFactory, catalog_image: str, hostile_image: str, tmp_path: Path
) -> None:
    now = datetime.now()
    data_dir = tmp_path / "capped"
    data_dir.mkdir()
    (data_dir / "traffic.json").write_text(
        json.dumps(
            {
                "day": now.strftime("%Y-%m-%d"),
                "day_bytes": 2048,
                "month": now.strftime("%Y-%m"),
                "month_bytes": 2048,
            }
        )
    )
    paused = (
        "has used its volunteer's daily traffic cap (2.0 KiB of 1000 bytes); "
        "network tasks resume after midnight, local time"
    )
    async with giver("capped", traffic_day_bytes=1000) as capped:
        [view] = await givers_view(seeker)
        assert view["capabilities"]["network_paused"] == paused
        shop = {"image": catalog_image, "keys": ["1"], "network": "bridge"}
        shop["settings"] = {"base_url": "http://shop.example"}
        job_id = await submit(seeker, shop)
        job = await until(lambda: job_state(seeker, job_id), "waiting", holds=_waiting)
        assert job["waiting"] == f"no online Giver can run this job ({capped.id} {paused})"
        # A task with no network still runs.
        offline = probe_job(hostile_image, "none", 9)
        assert (await submit_and_wait(seeker, offline))["keys"]["done"] == 1
        doc = await capped.status()
    # The result it posted counts against the cap too.
    assert doc["traffic"]["today_bytes"] > 2048
    used = doc["traffic"]["today_bytes"] / 1024
    shown = status.render(doc)
    assert f"traffic:      today {used:.1f} KiB of 1000 bytes, this month {used:.1f} KiB" in shown
    assert (
        f"  no task that needs the network: this Giver has used its volunteer's daily traffic "
        f"cap ({used:.1f} KiB of 1000 bytes); network tasks resume after midnight" in shown
    )


async def test_the_volunteer_sees_where_a_job_went_and_the_job_sees_what_was_refused(
    seeker: Seeker, giver: GiverFactory, catalog_image: str, demo_site_url: str, tmp_path: Path
) -> None:
    site = egress.site(demo_site_url)
    async with giver("shown", allow_local=(site,)) as shown:
        scraped = await submit_and_wait(
            seeker,
            {
                "image": catalog_image,
                "range": [1, 4],
                "network": "bridge",
                "settings": {"base_url": demo_site_url},
            },
        )
        unlisted = await submit_and_wait(
            seeker,
            {
                "image": catalog_image,
                "keys": ["1"],
                "network": "bridge",
                "settings": {"base_url": seeker.url},
                "max_attempts": 1,
            },
        )
        doc = await shown.status()
    assert scraped["keys"]["done"] == 3
    tally = doc["egress"][scraped["job_id"]][site]
    assert tally["requests"] == 3 and tally["outcomes"] == {"2xx": 3}
    assert tally["bytes_received"] > 0
    assert f"egress of job {scraped['job_id']}:" in status.render(doc)
    [failure] = unlisted["failures"]
    assert "egress refused: 127.0.0.1 is" in failure["reason"], failure
    logged = [
        json.loads(line) for line in (tmp_path / "shown" / "egress.log").read_text().splitlines()
    ]
    assert {(e["job_id"], f"{e['host']}:{e['port']}", e["outcome"]) for e in logged} == {
        (scraped["job_id"], site, "2xx"),
        (unlisted["job_id"], egress.site(seeker.url), "refused"),
    }


def _done(job: dict[str, Any]) -> bool:
    return job["status"] == "done"


def _waiting(job: dict[str, Any]) -> bool:
    return bool(job.get("waiting"))
