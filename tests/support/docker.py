"""The Docker side of the tests: the example and test scraper images, and tasks
run through a real DockerRunner."""

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import docker
import pytest

from channel.wire.models import Task
from giver.egress.gateway import Gateway
from giver.sandbox.docker_runner import GIVER_LABEL, DockerRunner
from giver.sandbox.outputs import ContainerExit, ScraperOutput, UntrustedOutput, collect
from support.base import BASE_IMAGE, REPO


def example_image(docker_client: docker.DockerClient, tag: str) -> str:
    """`tag`, an example scraper image of images/ that ./scripts/setup builds."""
    try:
        docker_client.images.get(tag)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {tag} is missing; run ./scripts/setup (it builds images/*/)")
    return tag


def build_test_image(name: str, tag: str) -> str:
    """Build tests/scrapers/NAME from the local base as `tag`."""
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "-t",
            tag,
            str(REPO / "tests" / "scrapers" / name),
        ],
        check=True,
        capture_output=True,
    )
    return tag


def image_exists(docker_client: docker.DockerClient, name: str) -> bool:
    """Whether an image of that name, tag or id is here."""
    try:
        docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_leftovers(docker_client: docker.DockerClient) -> list[str]:
    """What `seekgive-sdk build` makes only while it builds and must not leave behind: its
    temporary tags (seekgive-sdk-build:*) and the containers it asks for labels."""
    tags = [tag for image in docker_client.images.list("seekgive-sdk-build") for tag in image.tags]
    containers = docker_client.containers.list(all=True, filters={"name": "seekgive-sdk-labels-"})
    return tags + [container.name for container in containers]


def containers_of(docker_client: docker.DockerClient, runner: DockerRunner) -> list:
    return docker_client.containers.list(
        all=True, filters={"label": f"{GIVER_LABEL}={runner.giver_id}"}
    )


async def run_task(
    runner: DockerRunner,
    task: Task,
    workdir: Path,
    progress: list[tuple[int, int]] | None = None,
    gateway: Gateway | None = None,
) -> tuple[ContainerExit, ScraperOutput | UntrustedOutput]:
    """Run `task` over `workdir` and collect its output, as a Giver does: a task
    whose network is "bridge" goes out through `gateway`."""

    def on_progress(done: int, total: int) -> None:
        if progress is not None:
            progress.append((done, total))

    image = await runner.resolve_image(task.image)
    assert image is not None, f"image {task.image} is not here"
    if task.network == "bridge":
        assert gateway is not None, "a bridge task goes out through a gateway"
        async with gateway.way_out(task.job_id, task.task_id, task.network) as egress:
            run = await runner.run(task, image.id, workdir, on_progress, egress=egress)
    else:
        run = await runner.run(task, image.id, workdir, on_progress)
    return run, await asyncio.to_thread(collect, workdir / "output", task, run)


def containers_by_id(docker_client: docker.DockerClient, giver_id: str) -> list[Any]:
    """The containers of Giver `giver_id`, running or not."""
    return docker_client.containers.list(all=True, filters={"label": f"{GIVER_LABEL}={giver_id}"})
