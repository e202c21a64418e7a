"""Scraper images delivered by the Seeker, on the real Docker Engine: an image a
Giver lacks comes from the catalog's archive, a tampered archive is refused and
never loaded, the archive route serves admitted Givers only, and the volunteer's
policy refuses an image before anything is fetched.

The Seeker and the Givers share this machine's Engine, so each test builds an
image of its own (the catalog scraper with a label of its own), adds it to the
catalog, which saves its archive, then removes it from the Engine: the Giver
lacks it.
"""

import asyncio
import logging
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import docker
import pytest
from support import egress
from support.api import Grid, counted_runs, export, submit_and_wait
from support.base import OPERATOR_HEADERS, OPERATOR_TOKEN
from support.delivery import (
    REPOSITORY,
    Built,
    add_to_catalog,
    build_scraper,
    forget,
    local_image,
    scraper_job,
)

from channel.wire import canonical
from channel.wire.identity import Identity
from channel.wire.signed_requests import API_ROOT, archive_path, request_headers
from giver.controls import control
from giver.sandbox.delivery import delivered_tag
from giver.sandbox.fetched import LIST_FILE
from seeker.config import SeekerConfig
from seeker.daemon import Seeker

WAIT_S = 60.0
POLL_S = 0.05


@pytest.fixture
def scraper(docker_client: docker.DockerClient, catalog_image: str) -> Iterator[Built]:
    """The catalog scraper under a name and label of its own (so an id of its own);
    removed from the Engine at the end, whatever tags it has by then."""
    built = build_scraper(docker_client, catalog_image)
    yield built
    forget(docker_client, built)


async def length(response: aiohttp.ClientResponse) -> int:
    """The length of the response's body, read a chunk at a time."""
    size = 0
    async for chunk in response.content.iter_chunked(1024 * 1024):
        size += len(chunk)
    return size


def archive_requests(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "seeker.api.images" and "fetches the archive" in r.getMessage()
    ]


async def test_an_image_the_giver_lacks_comes_from_the_seeker(
    grid: Grid,
    docker_client: docker.DockerClient,
    scraper: Built,
    demo_site_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    seeker = await grid(givers=1, allow_local=(egress.site(demo_site_url),))
    await add_to_catalog(seeker, scraper)
    assert await asyncio.to_thread(local_image, scraper.id) is None

    job = await submit_and_wait(seeker, scraper_job(scraper, demo_site_url))

    assert job["keys"] == {"total": 20, "done": 20, "failed": 0, "leased": 0, "pending": 0}
    assert sorted(int(r["key"]) for r in await export(seeker, job["job_id"])) == list(range(1, 21))
    image = await asyncio.to_thread(local_image, scraper.id)
    assert image is not None and image.id == scraper.id
    assert f"{REPOSITORY}:{delivered_tag(scraper.id)}" in image.tags
    # Two tasks started at once, waiting on one download; the later ones found it here.
    assert len(archive_requests(caplog)) == 1
    assert list((tmp_path / "giver-0" / "images").iterdir()) == []
    # It counts against the Giver's disk cap from now on (giver.sandbox.fetched).
    listed = canonical.loads((tmp_path / "giver-0" / LIST_FILE).read_bytes())["images"]
    assert [(i["image_id"], i["reference"]) for i in listed] == [
        (scraper.id, f"{REPOSITORY}@{scraper.id}")
    ]
    # The archive counts against the volunteer's traffic, beside the pages and results.
    shown = await control.call(tmp_path / "giver-0" / "control.sock", "GET", "/status")
    size = (await asyncio.to_thread(docker_client.images.get, scraper.id)).attrs["Size"]
    assert shown["traffic"]["today_bytes"] > 0.9 * size


def tamper(archive: Path, part: str) -> str:
    """Change one byte in the middle of the archive's config or of its largest layer,
    as its manifest names them; what the Giver is expected to say of it."""
    with tarfile.open(archive) as tar:
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        [image] = canonical.loads(manifest_file.read())
        members = {m.name: m for m in tar.getmembers()}
    if part == "config":
        member, expected = members[image["Config"]], "its config"
    else:
        layers = [members[name] for name in image["Layers"]]
        member = max(layers, key=lambda m: m.size)
        expected = f"layer {layers.index(member) + 1} ({member.name}) has sha256:"
    with open(archive, "r+b") as f:
        f.seek(member.offset_data + member.size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))
    return expected


@pytest.mark.parametrize("part", ["layer", "config"])
async def test_a_tampered_archive_is_refused_and_never_loaded(
    grid: Grid,
    scraper: Built,
    demo_site_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    part: str,
) -> None:
    caplog.set_level(logging.INFO)
    seeker = await grid(givers=1)
    archive = await add_to_catalog(seeker, scraper)
    expected = await asyncio.to_thread(tamper, archive, part)

    job = await submit_and_wait(seeker, scraper_job(scraper, demo_site_url))

    assert job["keys"] == {"total": 20, "done": 0, "failed": 20, "leased": 0, "pending": 0}
    reasons = {r["reason"] for r in job["refusals"]}
    assert len(reasons) == 1
    (reason,) = reasons
    assert reason.startswith(f"the Seeker's archive of image {scraper.id} is bad (")
    assert expected in reason
    assert reason.endswith("; it was deleted, not loaded")
    # No result of the Giver's counted: only the blocks failed for want of a Giver.
    assert {run.giver_id for run in await counted_runs(seeker, job["job_id"])} == {""}
    assert await asyncio.to_thread(local_image, scraper.id) is None
    assert list((tmp_path / "giver-0" / "images").iterdir()) == []
    # Refused once fetched, the archive is not fetched again for the other blocks.
    assert len(archive_requests(caplog)) == 1


async def test_the_policy_refuses_an_image_before_anything_is_fetched(
    grid: Grid, scraper: Built, demo_site_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    seeker = await grid(givers=1, allowed_images=("seekgive/*",))
    await add_to_catalog(seeker, scraper)

    job = await submit_and_wait(seeker, scraper_job(scraper, demo_site_url))

    assert job["keys"]["failed"] == 20
    pinned = f"{REPOSITORY}@{scraper.id}"
    expected = f"image {pinned} is not allowed by this Giver's policy (allowed: seekgive/*)"
    assert {r["reason"] for r in job["refusals"]} == {expected}
    assert archive_requests(caplog) == []
    assert not [r for r in caplog.records if r.name == "seeker.api.images"]
    assert await asyncio.to_thread(local_image, scraper.id) is None


async def test_the_archive_route_serves_admitted_givers_signed_requests_only(
    grid: Grid, scraper: Built, tmp_path: Path
) -> None:
    seeker = await grid(givers=1)
    archive = await add_to_catalog(seeker, scraper)
    giver = await asyncio.to_thread(Identity.load_or_create, tmp_path / "giver-0" / "identity.key")
    stranger = Identity.generate()
    path = archive_path(scraper.id)
    url = f"{seeker.url}{API_ROOT}{path}"
    now = time.time()
    unknown = "sha256:" + "0" * 64

    async def fetch(target: str, headers: dict[str, str]) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
            http.get(target, headers=headers) as r,
        ):
            return r.status, (await r.json() if r.status != 200 else await length(r))

    forged = request_headers(stranger, "GET", path, now) | {"Seekgive-Giver": giver.id}
    cases = [
        (url, {}, 401, "unsigned_request"),
        (url, request_headers(stranger, "GET", path, now), 403, "not_admitted"),
        (url, forged, 401, "bad_signature"),
        (url, request_headers(giver, "GET", archive_path(unknown), now), 401, "bad_signature"),
        (url, request_headers(giver, "GET", path, now - 3600), 401, "stale_signature"),
        (
            f"{seeker.url}{API_ROOT}{archive_path(unknown)}",
            request_headers(giver, "GET", archive_path(unknown), now),
            404,
            "unknown_image",
        ),
    ]
    for target, headers, status, code in cases:
        answered, body = await fetch(target, headers)
        assert (answered, body["code"]) == (status, code), body

    answered, size = await fetch(url, request_headers(giver, "GET", path, now))
    assert (answered, size) == (200, archive.stat().st_size)


@pytest.mark.parametrize(
    ("max_image_bytes", "expected"),
    [
        (2**20, "MiB) is over this Giver's image size limit (1 MiB)"),
        (0, "is not present on this Giver, and its volunteer lets it fetch no images"),
    ],
)
async def test_an_archive_over_the_volunteers_limit_is_refused(
    grid: Grid, scraper: Built, demo_site_url: str, max_image_bytes: int, expected: str
) -> None:
    seeker = await grid(givers=1, max_image_bytes=max_image_bytes)
    await add_to_catalog(seeker, scraper)

    job = await submit_and_wait(seeker, scraper_job(scraper, demo_site_url))

    assert job["keys"]["failed"] == 20
    refusals = job["refusals"]
    assert refusals and all(expected in r["reason"] for r in refusals), refusals
    assert await asyncio.to_thread(local_image, scraper.id) is None


async def test_a_fetch_that_fails_for_now_releases_the_task_and_a_later_one_runs_it(
    grid: Grid,
    scraper: Built,
    demo_site_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    seeker = await grid(givers=1, allow_local=(egress.site(demo_site_url),))
    await add_to_catalog(seeker, scraper)
    # Where the Giver keeps archives while it checks them is taken by a file.
    blocker = tmp_path / "giver-0" / "images"
    await asyncio.to_thread(blocker.write_bytes, b"")

    def released() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "seeker.grid.coordinator" and " released task " in r.getMessage()
        ]

    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        body = scraper_job(scraper, demo_site_url)
        async with http.post(f"{seeker.url}/api/v1/jobs", json=body) as response:
            assert response.status == 201
            job_url = f"{seeker.url}/api/v1/jobs/{(await response.json())['job_id']}"
        async with asyncio.timeout(WAIT_S):
            while not released():  # noqa: ASYNC110
                await asyncio.sleep(POLL_S)
        assert f"cannot keep the archive of image {scraper.id} in {blocker}" in released()[0]
        await asyncio.to_thread(blocker.unlink)
        async with asyncio.timeout(WAIT_S):
            while True:
                async with http.get(job_url) as response:
                    job = await response.json()
                if job["status"] == "done":
                    break
                await asyncio.sleep(POLL_S)

    assert job["keys"] == {"total": 20, "done": 20, "failed": 0, "leased": 0, "pending": 0}
    assert "refusals" not in job


async def test_an_archive_is_saved_again_when_missing_and_goes_with_its_scraper(
    grid: Grid, scraper: Built, tmp_path: Path
) -> None:
    seeker = await grid(givers=1)
    giver = await asyncio.to_thread(Identity.load_or_create, tmp_path / "giver-0" / "identity.key")
    path = archive_path(scraper.id)
    url = f"{seeker.url}{API_ROOT}{path}"
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.post(f"{seeker.url}/api/v1/scrapers", json={"image": scraper.tag}) as r:
            assert r.status == 201
        archive = seeker.config.archive_dir / f"{scraper.id.removeprefix('sha256:')}.tar"
        size = archive.stat().st_size
        archive.unlink()
        async with http.get(url, headers=request_headers(giver, "GET", path, time.time())) as r:
            assert r.status == 200
            assert await length(r) == size
        assert archive.stat().st_size == size
        async with http.delete(f"{seeker.url}/api/v1/scrapers/{scraper.name}") as r:
            assert r.status == 200
        assert not archive.exists()
        async with http.get(url, headers=request_headers(giver, "GET", path, time.time())) as r:
            assert (r.status, (await r.json())["code"]) == (404, "unknown_image")


async def test_a_scraper_whose_archive_cannot_be_kept_is_not_added(
    tmp_path: Path, scraper: Built
) -> None:
    config = SeekerConfig(
        operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "seeker", poll_interval_s=POLL_S
    )
    await asyncio.to_thread(config.data_dir.mkdir)
    await asyncio.to_thread(config.archive_dir.write_bytes, b"")
    async with Seeker(config) as seeker, aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.post(f"{seeker.url}/api/v1/scrapers", json={"image": scraper.tag}) as r:
            assert r.status == 500
            error = await r.json()
        async with http.get(f"{seeker.url}/api/v1/scrapers") as r:
            assert (await r.json())["scrapers"] == []
    assert error["code"] == "archive_error"
    assert error["message"].startswith(f"cannot write the archive of image {scraper.id} to ")
