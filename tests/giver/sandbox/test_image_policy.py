"""The volunteer's image policy: its patterns (pure logic), a real Giver
refusing an image outside it, with the reason shown on the real Seeker, and
telling the Seeker only of the scraper images its policy allows."""

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import aiohttp
import docker
import pytest
from support.api import givers_view, wait_for
from support.base import BASE_IMAGE, OPERATOR_HEADERS, OPERATOR_TOKEN
from support.givers import GiverFactory

from giver.daemon import Giver
from giver.errors import BadImagePattern
from giver.sandbox.images import ImagePolicy, LocalImage, offered
from giver.terms.config import GiverConfig
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.grid.placement import cached

BIN = Path(sys.executable).parent
WAIT_S = 60.0
DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32
CATALOG = LocalImage(
    id=DIGEST,
    tags=("seekgive/catalog:1", "registry.local:5000/team/scraper:2"),
    repo_digests=(f"seekgive/catalog@{OTHER_DIGEST}",),
)


@pytest.mark.parametrize(
    ("patterns", "allowed"),
    [
        ((), True),
        (("seekgive/catalog",), True),
        (("seekgive/*",), True),
        (("registry.local:5000/team/*",), True),
        (("registry.local:5000/team/scraper",), True),
        ((DIGEST,), True),
        ((OTHER_DIGEST,), True),
        (("seekgive/other", "seekgive/catalog"), True),
        (("seekgive/other",), False),
        (("seek/*",), False),
        (("seekgive/catalog/*",), False),
        (("sha256:" + "00" * 32,), False),
    ],
)
def test_patterns_match_repositories_namespaces_and_digests(
    patterns: tuple[str, ...], allowed: bool
) -> None:
    assert ImagePolicy(patterns).allows(CATALOG) is allowed


def scraper(image_id: str, *tags: str, contract: str = "1") -> LocalImage:
    return LocalImage(image_id, tags, (), contract=contract, scraper=True)


def test_the_seeker_hears_of_allowed_scrapers_of_this_contract_by_id_only() -> None:
    ids = ["sha256:" + c * 64 for c in "0123456"]
    images = [
        scraper(ids[0], "seekgive/catalog:1", "seekgive/catalog:latest"),
        scraper(ids[1], "lab/pages:2"),
        scraper(ids[2], "seekgive/old:1", contract="2"),
        scraper(ids[3]),  # untagged: no task names it by a repository
        LocalImage(ids[4], ("postgres:16",), ()),
        LocalImage(ids[5], ("seekgive/base:bookworm",), ()),
        scraper(ids[0], "seekgive/catalog:1"),
    ]
    assert offered(images, ImagePolicy(())) == (ids[0], ids[1])
    assert offered(images, ImagePolicy(("seekgive/*",))) == (ids[0],)
    assert offered(images, ImagePolicy((ids[1], "postgres"))) == (ids[1],)
    assert offered(images, ImagePolicy(("other/*",))) == ()


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("seekgive/catalog:1", "without a tag"),
        ("seekgive/catalog@" + DIGEST, "without a tag"),
        ("sha256:abc", "64 lowercase hex digits"),
        ("SeekGive/Catalog", "not a repository name"),
        ("", "not a repository name"),
    ],
)
def test_a_bad_pattern_is_a_clear_config_error(pattern: str, message: str) -> None:
    with pytest.raises(BadImagePattern, match=message):
        GiverConfig(seeker_url="http://s", data_dir=Path("d"), allowed_images=(pattern,))


def seeker_config(tmp_path: Path) -> SeekerConfig:
    """A Seeker that admits every Giver and schedules often."""
    return SeekerConfig(
        operator_token=OPERATOR_TOKEN,
        port=0,
        data_dir=tmp_path / "seeker",
        poll_interval_s=0.05,
        open_registration=True,
    )


async def job_with_refusals(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    """The job at `url` once a Giver has refused one of its tasks."""
    async with asyncio.timeout(WAIT_S):
        while True:
            async with http.get(url) as response:
                job = await response.json()
            if job.get("refusals"):
                return job
            await asyncio.sleep(0.05)


async def test_an_image_outside_the_policy_is_refused_and_the_seeker_shows_why(
    tmp_path: Path, faulty_image: str
) -> None:
    async with (
        Seeker(seeker_config(tmp_path)) as seeker,
        aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
    ):
        policy = ("seekgive/catalog",)
        giver_config = GiverConfig(
            seeker_url=seeker.url, data_dir=tmp_path / "giver", allowed_images=policy
        )
        async with Giver(giver_config):
            body = {"image": faulty_image, "keys": ["a"], "limits": {"timeout_s": 30}}
            async with http.post(f"{seeker.url}/api/v1/jobs", json=body) as response:
                job_id = (await response.json())["job_id"]
            job = await job_with_refusals(http, f"{seeker.url}/api/v1/jobs/{job_id}")
        [refusal] = job["refusals"]
        expected = (
            f"image {faulty_image} is not allowed by this Giver's policy "
            "(allowed: seekgive/catalog)"
        )
        assert refusal["reason"] == expected
        process = await asyncio.create_subprocess_exec(
            BIN / "seeker", "status", "--seeker", seeker.url, job_id, stdout=asyncio.subprocess.PIPE
        )
        out = (await process.communicate())[0].decode()
    assert f"refused by giver {refusal['giver_id']} (task {refusal['task_id']}): {expected}" in out


async def test_a_job_refused_by_policy_is_offered_once_and_fails_with_the_reason(
    tmp_path: Path, faulty_image: str
) -> None:
    async with (
        Seeker(seeker_config(tmp_path)) as seeker,
        aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
    ):
        giver_config = GiverConfig(
            seeker_url=seeker.url,
            data_dir=tmp_path / "giver",
            allowed_images=("seekgive/catalog",),
            slots=1,
        )
        async with Giver(giver_config):
            body = {"image": faulty_image, "range": [0, 6], "block_size": 1}
            async with http.post(f"{seeker.url}/api/v1/jobs", json=body) as response:
                job_url = f"{seeker.url}/api/v1/jobs/{(await response.json())['job_id']}"
            job = await wait_for(http, job_url, lambda job: job["status"] == "done")
    assert job["keys"]["failed"] == 6
    [refusal] = job["refusals"]
    assert refusal["reason"].startswith(f"image {faulty_image} is not allowed")
    assert {f["reason"] for f in job["failures"]} == {
        f"refused by every Giver ({refusal['giver_id']}: {refusal['reason']})"
    }


@pytest.mark.seeker_config(open_registration=True)
async def test_the_seeker_hears_only_allowed_scraper_images_by_id(
    seeker: Seeker,
    giver: GiverFactory,
    catalog_image: str,
    jsonapi_image: str,
    new_tag: str,
    docker_client: docker.DockerClient,
) -> None:
    """An unrelated image (the base image under a name of its own), or a scraper the
    policy does not allow, stays the volunteer's business; an allowed catalog image
    is told by its id, which is how the Seeker finds it cached."""
    repository, _, tag = new_tag.partition(":")
    await asyncio.to_thread(docker_client.api.tag, BASE_IMAGE, repository, tag)
    ids = {
        name: (await asyncio.to_thread(docker_client.images.get, name)).id
        for name in (catalog_image, jsonapi_image, BASE_IMAGE)
    }
    async with giver("picky", allowed_images=("seekgive/catalog",)) as picky:
        [view] = [v for v in await givers_view(seeker) if v["giver_id"] == picky.id]
    images = view["capabilities"]["images"]
    assert images == [ids[catalog_image]]
    assert cached(f"seekgive/catalog@{ids[catalog_image]}", images)

    async with giver("open") as open_giver:
        [view] = [v for v in await givers_view(seeker) if v["giver_id"] == open_giver.id]
    images = view["capabilities"]["images"]
    assert {ids[catalog_image], ids[jsonapi_image]} <= set(images)
    assert ids[BASE_IMAGE] not in images and new_tag not in images
    assert all(image.startswith("sha256:") for image in images)


@pytest.mark.seeker_config(open_registration=True)
@pytest.mark.parametrize(
    ("settings", "policy"),
    [
        (
            {},
            "runs any image present here, and catalog images the Seeker delivers "
            "(archives up to 4096 MiB)",
        ),
        (
            {"max_image_bytes": 0},
            "runs any image present here; fetches none from the Seeker (max_image is 0)",
        ),
        (
            {"allowed_images": ("seekgive/catalog", "lab/*"), "max_image_bytes": 2**30},
            "runs only images matching seekgive/catalog, lab/*: present here, or catalog "
            "images the Seeker delivers (archives up to 1024 MiB)",
        ),
        (
            {"allowed_images": ("seekgive/catalog",), "max_image_bytes": 0},
            "runs only images matching seekgive/catalog present here; fetches none from the "
            "Seeker (max_image is 0)",
        ),
    ],
)
async def test_the_startup_log_states_the_image_policy_as_it_is(
    seeker: Seeker,
    giver: GiverFactory,
    caplog: pytest.LogCaptureFixture,
    settings: dict[str, Any],
    policy: str,
) -> None:
    caplog.set_level(logging.INFO, logger="giver.daemon")
    async with giver("stating", **settings):
        [started] = [r.getMessage() for r in caplog.records if " started: " in r.getMessage()]
    assert f"; {policy}; scrapers reach " in started
