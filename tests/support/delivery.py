"""Scraper images for tests of images the Seeker delivers: each a copy of the
catalog scraper with a label of its own (so an id of its own), added to a
Seeker's catalog and then removed from the Engine the Seeker and its Givers
share, so that a Giver lacks it."""

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import docker

from seeker.daemon import Seeker
from support.base import OPERATOR_HEADERS

REPOSITORY = "seekgive-test/delivery"


class Built:
    """A throwaway scraper image: its tag, id and catalog name."""

    def __init__(self, tag: str, image_id: str, name: str) -> None:
        self.tag, self.id, self.name = tag, image_id, name


def build_scraper(docker_client: docker.DockerClient, catalog_image: str) -> Built:
    """The catalog scraper under a name and label of its own; `forget` it at the end."""
    mark = uuid.uuid4().hex[:12]
    tag, name = f"{REPOSITORY}:{mark}", f"delivery-{mark}"
    dockerfile = (
        f"FROM {catalog_image}\n"
        f'LABEL seekgive.test-mark="{mark}" org.opencontainers.image.title="{name}"\n'
    )
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, "-"],
        input=dockerfile.encode(),
        check=True,
        capture_output=True,
    )
    return Built(tag, str(docker_client.images.get(tag).id), name)


def forget(docker_client: docker.DockerClient, built: Built) -> None:
    """Remove a built image from the Engine, whatever tags it has by then."""
    try:
        docker_client.images.remove(built.id, force=True)
    except docker.errors.ImageNotFound:
        pass


async def add_to_catalog(seeker: Seeker, built: Built) -> Path:
    """Add the image to the Seeker's catalog, then remove it from the Engine; the
    archive the Seeker kept."""
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        body = {"image": built.tag}
        async with http.post(f"{seeker.url}/api/v1/scrapers", json=body) as response:
            assert response.status == 201, await response.text()
    archive = seeker.config.archive_dir / f"{built.id.removeprefix('sha256:')}.tar"
    assert archive.is_file()
    await asyncio.to_thread(docker_remove, built.id)
    return archive


def docker_remove(image_id: str) -> None:
    client = docker.from_env()
    try:
        client.images.remove(image_id, force=True)
    finally:
        client.close()


def local_image(image_id: str) -> Any:
    """The Engine's image with id `image_id`, or None."""
    client = docker.from_env()
    try:
        return client.images.get(image_id)
    except docker.errors.ImageNotFound:
        return None
    finally:
        client.close()


def scraper_job(built: Built, site_url: str) -> dict[str, Any]:
    """A job of the scraper over products 1 to 20 of the demo shop, in 4 blocks; its
    Givers reach the shop if they allow it (`allow_local=(egress.site(site_url),)`)."""
    return {
        "scraper": built.name,
        "range": [1, 21],
        "block_size": 5,
        "network": "bridge",
        "settings": {"base_url": site_url},
    }
