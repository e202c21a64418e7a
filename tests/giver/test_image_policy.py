"""The volunteer's image policy: its patterns (pure logic), and a real Giver
refusing an image outside it, with the reason shown on the real Seeker."""

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.api import wait_for
from support.base import OPERATOR_HEADERS, OPERATOR_TOKEN

from giver.config import GiverConfig
from giver.daemon import Giver
from giver.errors import BadImagePattern
from giver.images import ImagePolicy, LocalImage
from seeker.config import SeekerConfig
from seeker.daemon import Seeker

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
