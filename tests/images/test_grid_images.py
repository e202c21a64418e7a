"""The daemon images images/grid/build makes: who they run as, what they say
of themselves, their healthchecks, and a clean stop on SIGTERM."""

import asyncio
import os

import docker
import pytest
from support.base import until

ROLES = ("seeker", "channel", "giver")
HEALTHCHECKS = {
    "seeker": ["CMD", "seekgive-healthcheck", "http://127.0.0.1:8765/healthz"],
    "channel": ["CMD", "seekgive-healthcheck", "http://127.0.0.1:8766/healthz"],
    "giver": ["CMD", "giver", "status"],
}


@pytest.mark.parametrize("role", ROLES)
def test_each_image_runs_as_seekgive_and_names_itself_and_its_version(
    docker_client: docker.DockerClient, grid_images: str, role: str
) -> None:
    config = docker_client.images.get(f"seekgive/{role}:{grid_images}").attrs["Config"]
    assert config["User"] == "seekgive"
    assert config["Labels"]["org.opencontainers.image.title"] == f"seekgive-{role}"
    assert config["Labels"]["org.opencontainers.image.version"] == grid_images
    assert config["Entrypoint"] == [role]
    assert config["Healthcheck"]["Test"] == HEALTHCHECKS[role]


@pytest.mark.parametrize("role", ["seeker", "channel"])
async def test_a_daemon_becomes_healthy_and_stops_cleanly_on_sigterm(
    docker_client: docker.DockerClient, grid_images: str, role: str
) -> None:
    container = docker_client.containers.run(
        f"seekgive/{role}:{grid_images}",
        name=f"seekgive-test-{role}-{os.getpid()}",
        detach=True,
        init=True,
        network_mode="none",
        healthcheck={"interval": 200_000_000},
    )
    try:

        async def health() -> str:
            await asyncio.to_thread(container.reload)
            return str(container.attrs["State"]["Health"]["Status"])

        await until(health, f"the {role} container healthy", holds="healthy".__eq__)
        await asyncio.to_thread(container.stop, timeout=30)
        await asyncio.to_thread(container.reload)
        assert container.attrs["State"]["ExitCode"] == 0, container.logs().decode()
    finally:
        await asyncio.to_thread(container.remove, force=True)
