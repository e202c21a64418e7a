"""The data behind the overview and job-detail pages, through the API of a real
grid: a Seeker and Givers running jobs in real containers, the Seeker's state
and the Channel on SQLite files or on FerretDB."""

import csv
import io
import re
from typing import Any

import aiohttp
import pytest
from support import egress
from support.api import Grid, catalog_job, disputed_job, grid_stores, submit_and_wait
from support.base import until

from channel.wire import canonical
from seeker.daemon import Seeker

DIGEST = re.compile(r"[0-9a-f]{64}")


async def get(http: aiohttp.ClientSession, url: str, status: int = 200) -> Any:
    async with http.get(url) as response:
        assert response.status == status, await response.text()
        return await response.json()


@pytest.mark.parametrize("store", ["sqlite", "mongodb"])
async def test_a_finished_jobs_blocks_records_and_overview(
    request: pytest.FixtureRequest,
    grid: Grid,
    http: aiohttp.ClientSession,
    store: str,
    catalog_image: str,
    demo_site_url: str,
) -> None:
    seeker = await grid(**grid_stores(request, store), allow_local=(egress.site(demo_site_url),))
    job = await submit_and_wait(seeker, catalog_job(catalog_image, demo_site_url))
    job_id, api = job["job_id"], f"{seeker.url}/api/v1"
    assert job["rate_keys_per_s"] > 0 and job["eta_s"] is None

    blocks, after = [], ""
    while True:
        page = await get(http, f"{api}/jobs/{job_id}/blocks?limit=3{after}")
        blocks += page["blocks"]
        if page["next"] is None:
            break
        after = f"&after={page['next']}"
    assert [b["seq"] for b in blocks] == [0, 1, 2, 3]
    names = {"giver-0", "giver-1"}
    for block in blocks:
        assert block["state"] == "done" and block["leases"] == [] and block["attempts"] == 1
        assert block["keys"] == {"count": 5, "range": [1 + 5 * block["seq"], 6 + 5 * block["seq"]]}
        assert block["tally"] == {"done": 5, "failed": 0, "leased": 0, "pending": 0}
        (run,) = block["runs"]
        assert run["role"] == "chosen" and run["giver_name"] in names and run["keys"] == 5
        assert DIGEST.fullmatch(run["records_digest"])
        assert block["givers"] == [{"giver_id": run["giver_id"], "giver_name": run["giver_name"]}]
    assert await get(http, f"{api}/jobs/{job_id}/blocks/2") == blocks[2]
    assert (await get(http, f"{api}/jobs/{job_id}/blocks?after=3"))["blocks"] == []

    empty = await get(http, f"{api}/jobs/{job_id}/disagreements")
    assert empty == {"job_id": job_id, "disagreements": [], "next": None}

    records, cursors, after = [], [], ""
    while True:
        page = await get(http, f"{api}/jobs/{job_id}/results?limit=7{after}")
        records += page["records"]
        cursors.append(page["next"])
        if not page["more"]:
            break
        after = f"&after={page['next']}"
    assert sorted(int(r["key"]) for r in records) == list(range(1, 21))
    # 4 results of 5 records, 7 a page: the first two pages end inside a result.
    assert cursors == ["2:2", "3:4", "4"]
    by_task = {b["runs"][0]["task_id"]: b["runs"][0]["giver_id"] for b in blocks}
    for record in records:
        assert by_task[record["task_id"]] == record["giver_id"] and "currency" in record["data"]
    again = await get(http, f"{api}/jobs/{job_id}/results?after={cursors[-1]}")
    assert again["records"] == [] and not again["more"] and again["next"] == cursors[-1]

    async with http.get(f"{api}/jobs/{job_id}/records?format=csv") as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"] == f'attachment; filename="{job_id}.csv"'
        assert response.content_type == "text/csv"
        rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][0] == "key" and "currency" in rows[0] and len(rows) == 21
    currency = {r["key"]: r["data"]["currency"] for r in records}
    column = rows[0].index("currency")
    assert {row[0]: row[column] for row in rows[1:]} == currency
    async with http.get(f"{api}/jobs/{job_id}/records?format=csv&fields=currency") as response:
        assert (await response.text()).splitlines()[:1] == ["key,currency"]
    async with http.get(f"{api}/jobs/{job_id}/records") as response:
        assert response.headers["Content-Disposition"] == f'attachment; filename="{job_id}.jsonl"'
        lines = (await response.read()).splitlines()
    assert sorted(canonical.loads(line)["key"] for line in lines) == sorted(currency)

    overview = await get(http, f"{api}/overview")
    assert overview["jobs"] == {
        "creating": 0,
        "running": 0,
        "paused": 0,
        "cancelled": 0,
        "done": 1,
    }
    assert overview["givers"] == {
        "registered": 2,
        "online": 2,
        "pending_approval": 0,
        "flagged": 0,
        "slots": 4,
        "leases": 0,
    }
    assert overview["keys"] == {"total": 0, "pending": 0, "leased": 0, "done": 0, "failed": 0}
    assert overview["rate_keys_per_s"] > 0
    assert overview["errors"]["failed_last_hour"] == 0 and overview["errors"]["failures"] == []


async def test_bad_queries_are_refused_with_what_is_wrong(
    grid: Grid, http: aiohttp.ClientSession, catalog_image: str, demo_site_url: str
) -> None:
    seeker = await grid(givers=1, allow_local=(egress.site(demo_site_url),))
    job = await submit_and_wait(seeker, catalog_job(catalog_image, demo_site_url, range=[1, 3]))
    jobs = f"{seeker.url}/api/v1/jobs"
    refused = {
        f"{jobs}/{job['job_id']}/blocks?after=x": (400, "bad_cursor"),
        f"{jobs}/{job['job_id']}/blocks?after=-1": (400, "bad_cursor"),
        f"{jobs}/{job['job_id']}/blocks?limit=501": (400, "invalid_query"),
        f"{jobs}/{job['job_id']}/blocks?limit=0": (400, "invalid_query"),
        f"{jobs}/{job['job_id']}/disagreements?after=1.5": (400, "bad_cursor"),
        f"{jobs}/{job['job_id']}/results?after=1:0": (400, "bad_cursor"),
        f"{jobs}/{job['job_id']}/results?after=0:3": (400, "bad_cursor"),
        f"{jobs}/{job['job_id']}/results?after=a:b": (400, "bad_cursor"),
        f"{jobs}/{job['job_id']}/records?format=xml": (400, "invalid_query"),
        f"{jobs}/{job['job_id']}/records?format=csv&full=1": (400, "invalid_query"),
        f"{jobs}/{job['job_id']}/blocks/7": (404, "unknown_block"),
        f"{jobs}/{job['job_id']}/blocks/x": (404, "unknown_block"),
        f"{jobs}/j0/blocks": (404, "unknown_job"),
        f"{jobs}/j0/disagreements": (404, "unknown_job"),
        f"{jobs}/j0/results": (404, "unknown_job"),
    }
    for url, (status, code) in refused.items():
        error = await get(http, url, status)
        assert error["code"] == code, url
        assert "\n" not in error["message"] and error["message"], url


@pytest.mark.parametrize("store", ["sqlite", "mongodb"])
async def test_copies_that_disagree_show_with_each_givers_digest(
    request: pytest.FixtureRequest,
    grid: Grid,
    http: aiohttp.ClientSession,
    store: str,
    faulty_image: str,
) -> None:
    seeker = await grid(**grid_stores(request, store))
    job = await submit_and_wait(seeker, disputed_job(faulty_image))
    job_id, api = job["job_id"], f"{seeker.url}/api/v1"
    assert job["keys"]["failed"] == 4 and job["failed_last_hour"] == 4

    page = await get(http, f"{api}/jobs/{job_id}/disagreements?limit=1")
    second = await get(http, f"{api}/jobs/{job_id}/disagreements?limit=1&after={page['next']}")
    assert second["next"] == 1
    disagreements = page["disagreements"] + second["disagreements"]
    assert [d["seq"] for d in disagreements] == [0, 1]
    for disagreement in disagreements:
        assert disagreement["outcome"] == "failed" and disagreement["chosen"] is None
        assert disagreement["reason"].startswith("copies disagree (2 different results")
        assert disagreement["reason"].endswith("no quorum of 2")
        copies = disagreement["copies"]
        assert sorted(c["giver_name"] for c in copies) == ["giver-0", "giver-1"]
        assert {c["role"] for c in copies} == {"rejected"}
        assert len({c["digest"] for c in copies}) == 2
        assert all(DIGEST.fullmatch(c["digest"]) for c in copies)
        for copy in copies:
            assert copy["digest"][:12] in disagreement["reason"]

    block = await get(http, f"{api}/jobs/{job_id}/blocks/0")
    assert block["tally"]["failed"] == 2 and block["attempts"] == 1
    assert sorted(r["role"] for r in block["runs"]) == ["chosen", "rejected", "rejected"]
    (final,) = [r for r in block["runs"] if r["role"] == "chosen"]
    assert final["giver_id"] == "" and final["final"] and final["failed"] == 2

    errors = (await get(http, f"{api}/overview"))["errors"]
    assert errors["failed_last_hour"] == 4
    assert sorted(f["key"] for f in errors["failures"]) == ["a", "b", "c", "d"]
    assert all(f["job_id"] == job_id and f["at"] > 0 for f in errors["failures"])


async def test_a_running_job_shows_its_rate_eta_and_leases(
    grid: Grid, http: aiohttp.ClientSession, faulty_image: str
) -> None:
    seeker: Seeker = await grid(givers=1, slots=2)
    api = f"{seeker.url}/api/v1"
    body = {
        "image": faulty_image,
        "keys": ["a", "b", "c", "d"],
        "block_size": 2,
        "settings": {"mode": "ok", "hang_on": ["c"]},
    }
    async with http.post(f"{api}/jobs", data=canonical.dumps(body)) as response:
        assert response.status == 201
        job_id = (await response.json())["job_id"]

    async def job() -> dict[str, Any]:
        return await get(http, f"{api}/jobs/{job_id}")

    view = await until(job, holds=lambda view: view["keys"]["done"] == 2)
    assert view["status"] == "running" and view["keys"]["leased"] == 2
    assert view["rate_keys_per_s"] > 0
    assert view["eta_s"] == pytest.approx(2 / view["rate_keys_per_s"], rel=0.1)

    blocks = (await get(http, f"{api}/jobs/{job_id}/blocks"))["blocks"]
    assert [b["state"] for b in blocks] == ["done", "leased"]
    (lease,) = blocks[1]["leases"]
    assert lease["giver_name"] == "giver-0" and lease["role"] == "primary"
    assert lease["task_id"] == f"{blocks[1]['block_id']}.0" and lease["keys"] == 2
    assert lease["deadline"] > lease["leased_at"] > 0 and lease["progress"] == 0

    overview = await get(http, f"{api}/overview")
    assert overview["jobs"]["running"] == 1 and overview["givers"]["leases"] == 1
    assert overview["keys"] == {"total": 4, "pending": 0, "leased": 2, "done": 2, "failed": 0}
    assert overview["rate_keys_per_s"] > 0
