"""Images a Giver fetched are counted against its disk cap and pruned least
recently used, on the real Docker Engine: never one a running task uses, never
the volunteer's own, and one the volunteer tagged meanwhile stays; the list
survives a restart of the Giver."""

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support.base import BASE_IMAGE

from giver.docker_runner import DockerRunner
from giver.fetched import LIST_FILE, FetchedImages

REPOSITORY = "seekgive-test/fetched"
SIZE = 100


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
