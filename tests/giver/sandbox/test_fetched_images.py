"""Images a Giver fetched are counted against its disk cap and pruned least
recently used, on the real Docker Engine: never one a running task uses, never
the volunteer's own, and one the volunteer tagged meanwhile stays; the list
survives a restart of the Giver; and a Giver with room for one delivered image
removes the one it used before to fetch the next."""

import asyncio
import logging
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support import egress
from support.api import Grid, submit_and_wait
from support.base import BASE_IMAGE
from support.delivery import REPOSITORY as DELIVERED
from support.delivery import add_to_catalog, build_scraper, forget, local_image, scraper_job

from channel.wire import canonical
from giver.sandbox.docker_runner import DockerRunner
from giver.sandbox.fetched import LIST_FILE, FetchedImages

REPOSITORY = "seekgive-test/fetched"
SIZE = 100
MIB = 2**20


@pytest.fixture
def images(docker_client: docker.DockerClient) -> Iterator[dict[str, str]]:
    """Four small images built from the local base, each with a label of its own:
    their ids by name; removed at the end, whatever tags they have by then."""
    mark = uuid.uuid4().hex[:12]
    built: dict[str, str] = {}
    for name in ("running", "old", "recent", "own"):
        tag = f"{REPOSITORY}:{name}-{mark}"
        subprocess.run(
            ["docker", "build", "-q", "-t", tag, "-"],
            input=f'FROM {BASE_IMAGE}\nLABEL seekgive.test-mark="{name}-{mark}"\n'.encode(),
            check=True,
            capture_output=True,
        )
        built[name] = str(docker_client.images.get(tag).id)
    yield built
    for image_id in built.values():
        try:
            docker_client.images.remove(image_id, force=True)
        except docker.errors.ImageNotFound:
            pass


def present(docker_client: docker.DockerClient, images: dict[str, str]) -> set[str]:
    here = set()
    for name, image_id in images.items():
        try:
            docker_client.images.get(image_id)
        except docker.errors.ImageNotFound:
            continue
        here.add(name)
    return here


async def test_the_least_recently_used_fetched_image_goes_first_but_not_one_in_use(
    tmp_path: Path,
    runner: DockerRunner,
    docker_client: docker.DockerClient,
    images: dict[str, str],
) -> None:
    running: set[str] = {images["running"]}
    fetched = FetchedImages(tmp_path / LIST_FILE, runner.remove_image, lambda: running)
    await fetched.open()
    for name in ("running", "old", "recent"):
        await fetched.add(images[name], f"{REPOSITORY}@{images[name]}", SIZE)
    await fetched.used(images["running"])
    await fetched.used(images["recent"])
    assert fetched.total_bytes == 3 * SIZE

    assert await fetched.make_room(SIZE) == SIZE
    assert present(docker_client, images) == {"running", "recent", "own"}
    assert fetched.total_bytes == 2 * SIZE

    again = FetchedImages(tmp_path / LIST_FILE, runner.remove_image, lambda: running)
    await again.open()
    assert again.total_bytes == 2 * SIZE
    # However much room is needed, the image in use and the volunteer's own stay.
    assert await again.make_room(10 * SIZE) == SIZE
    assert present(docker_client, images) == {"running", "own"}
    assert again.total_bytes == SIZE


async def test_a_fetched_image_the_volunteer_tagged_stays_and_is_no_longer_counted(
    tmp_path: Path,
    runner: DockerRunner,
    docker_client: docker.DockerClient,
    images: dict[str, str],
) -> None:
    fetched = FetchedImages(tmp_path / LIST_FILE, runner.remove_image, set)
    await fetched.open()
    await fetched.add(images["old"], f"{REPOSITORY}@{images['old']}", SIZE)
    docker_client.images.get(images["old"]).tag("seekgive-test/own", uuid.uuid4().hex[:12])

    assert await fetched.make_room(SIZE) == 0
    assert "old" in present(docker_client, images)
    assert fetched.total_bytes == 0


async def test_a_giver_at_its_disk_cap_removes_the_image_used_least_lately_to_fetch_another(
    grid: Grid,
    docker_client: docker.DockerClient,
    catalog_image: str,
    demo_site_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    first, second = (build_scraper(docker_client, catalog_image) for _ in range(2))
    try:
        # Room for one image's archive (about 156 MiB) and one task's output, not two.
        seeker = await grid(
            givers=1,
            slots=1,
            disk_cap_bytes=200 * MIB,
            allow_local=(egress.site(demo_site_url),),
        )
        for built in (first, second):
            await add_to_catalog(seeker, built)
        for built in (first, second):
            job = await submit_and_wait(seeker, scraper_job(built, demo_site_url))
            assert job["keys"]["done"] == 20, job
        assert await asyncio.to_thread(local_image, first.id) is None
        assert await asyncio.to_thread(local_image, second.id) is not None
        listed = canonical.loads((tmp_path / "giver-0" / LIST_FILE).read_bytes())["images"]
        assert [image["image_id"] for image in listed] == [second.id]
        removed = [r.getMessage() for r in caplog.records if r.name == "giver.sandbox.fetched"]
        assert len(removed) == 1
        assert removed[0].startswith(f"removed image {DELIVERED}@{first.id} (")
        assert removed[0].endswith("to stay under the disk cap")
    finally:
        for built in (first, second):
            forget(docker_client, built)


async def test_tasks_starting_together_with_a_fetched_image_all_note_their_use(
    tmp_path: Path,
) -> None:
    async def never(image_id: str) -> bool:
        raise AssertionError("nothing is to be removed")

    fetched = FetchedImages(tmp_path / LIST_FILE, never, set)
    await fetched.open()
    await fetched.add("sha256:" + "a" * 64, "lab/a@sha256:" + "a" * 64, SIZE)
    await asyncio.gather(*(fetched.used("sha256:" + "a" * 64) for _ in range(20)))
    again = FetchedImages(tmp_path / LIST_FILE, never, set)
    await again.open()
    assert again.total_bytes == SIZE
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == [tmp_path / LIST_FILE]
