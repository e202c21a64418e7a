"""Finished jobs through the API of a real grid (a Seeker and Givers running a job
in real containers, the stores on SQLite files or on FerretDB): once the leader
lets a done job go, its detail, blocks, records and export read the same from
the store; the jobs list pages from the store, newest first; `DELETE` refuses a
running job and an unknown id, deleting nothing, and deletes a done job with its
results in the Channel."""

import time
from typing import Any

import aiohttp
import pytest
from support import egress
from support.api import Grid, catalog_job, export, grid_stores, submit_and_wait

from seeker.daemon import Seeker
from seeker.work.ledger import HELD_AFTER_FINISH_S


async def call(
    http: aiohttp.ClientSession, method: str, url: str, status: int = 200
) -> dict[str, Any]:
    async with http.request(method, url) as response:
        assert response.status == status, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def shown(http: aiohttp.ClientSession, api: str, job_id: str) -> dict[str, Any]:
    """What the API shows of a job: its view (but its rate, which fades within a
    minute of its end), its blocks and its records."""
    view = await call(http, "GET", f"{api}/jobs/{job_id}")
    del view["rate_keys_per_s"]
    return {
        "view": view,
        "blocks": await call(http, "GET", f"{api}/jobs/{job_id}/blocks"),
        "records": await call(http, "GET", f"{api}/jobs/{job_id}/results"),
    }


@pytest.mark.parametrize("store", ["sqlite", "mongodb"])
async def test_a_done_job_reads_the_same_from_the_store_and_is_deleted_with_its_results(
    request: pytest.FixtureRequest,
    grid: Grid,
    http: aiohttp.ClientSession,
    store: str,
    catalog_image: str,
    demo_site_url: str,
) -> None:
    seeker: Seeker = await grid(
        **grid_stores(request, store), allow_local=(egress.site(demo_site_url),)
    )
    api = f"{seeker.url}/api/v1"
    job = await submit_and_wait(seeker, catalog_job(catalog_image, demo_site_url))
    job_id = job["job_id"]
    # A job no Giver here can run (its only image is for another architecture)
    # stays running.
    other_arch = {"images": {"arm/v7": catalog_image}, "keys": ["a"]}
    async with http.post(f"{api}/jobs", json=other_arch) as response:
        assert response.status == 201
        running = await response.json()
    before, exported = await shown(http, api, job_id), await export(seeker, job_id)
    assert len(exported) == 20

    keys = seeker.coordinator.keys
    keys.unload_finished(time.time() + HELD_AFTER_FINISH_S)
    assert job_id not in keys.jobs and running["job_id"] in keys.jobs
    assert await shown(http, api, job_id) == before
    assert await export(seeker, job_id) == exported
    listed = await call(http, "GET", f"{api}/jobs?limit=1")
    assert [j["job_id"] for j in listed["jobs"]] == [running["job_id"]]
    older = await call(http, "GET", f"{api}/jobs?limit=1&after={listed['next']}")
    assert [j["job_id"] for j in older["jobs"]] == [job_id]
    assert {k: v for k, v in older["jobs"][0].items() if k != "rate_keys_per_s"} == before["view"]
    assert (await call(http, "GET", f"{api}/jobs?after=nonsense", 400))["code"] == "bad_cursor"
    overview = await call(http, "GET", f"{api}/overview")
    assert (overview["jobs"]["done"], overview["jobs"]["running"]) == (1, 1)

    refused = await call(http, "DELETE", f"{api}/jobs/{running['job_id']}", 409)
    assert refused["code"] == "job_conflict"
    assert "cancel it first" in refused["message"]
    assert (await call(http, "DELETE", f"{api}/jobs/jnothere", 404))["code"] == "unknown_job"
    assert (await call(http, "GET", f"{api}/jobs/{running['job_id']}"))["status"] == "running"

    task_ids = [run["task_id"] for block in before["blocks"]["blocks"] for run in block["runs"]]
    assert len(await seeker.channel.results_for_tasks(task_ids)) == 4
    deleted = await call(http, "DELETE", f"{api}/jobs/{job_id}")
    assert deleted["job_id"] == job_id and deleted["status"] == "done"
    assert (await call(http, "GET", f"{api}/jobs/{job_id}", 404))["code"] == "unknown_job"
    assert await seeker.channel.results_for_tasks(task_ids) == []
    overview = await call(http, "GET", f"{api}/overview")
    assert (overview["jobs"]["done"], overview["jobs"]["running"]) == (0, 1)
