"""Docker Compose for the tests: the daemon images and FerretDB's, built from the
local base; a project of the compose/ files, driven with the `docker compose`
CLI; and what a project leaves behind."""

import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import docker
from ferretdb import ferretdb_binary

from support.base import BASE_IMAGE, REPO, TESTS, run

COMPOSE_DIR = REPO / "compose"
OVERRIDES = TESTS / "compose"
FERRETDB_IMAGE = "seekgive-test/ferretdb:1.24.2"
PROJECT_LABEL = "com.docker.compose.project"


def build_grid_images() -> str:
    """Build the daemon images with images/grid/build, from the local base; their
    version (seekgive's)."""
    result = subprocess.run(
        [str(REPO / "images" / "grid" / "build")],
        env={**os.environ, "BASE_IMAGE": BASE_IMAGE},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"images/grid/build failed:\n{result.stderr}"
    return str(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"])


def build_ferretdb_image() -> str:
    """Build FERRETDB_IMAGE: the FerretDB binary ./scripts/setup builds, on the
    local base; its tag."""
    with tempfile.TemporaryDirectory(prefix="seekgive-ferretdb-") as tmp:
        context = Path(tmp)
        shutil.copy(ferretdb_binary(), context / "ferretdb")
        shutil.copy(OVERRIDES / "ferretdb.Dockerfile", context / "Dockerfile")
        argv = [
            "docker", "build", "-q", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
            "-t", FERRETDB_IMAGE, str(context),
        ]  # fmt: skip
        result = subprocess.run(
            argv,
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 0, f"building {FERRETDB_IMAGE} failed:\n{result.stderr}"
    return FERRETDB_IMAGE


def write_env_file(path: Path, values: dict[str, object]) -> Path:
    """An env file of `values` at `path`."""
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


@dataclass(frozen=True)
class Project:
    """A Compose project `name` of `files`, its variables in `env_file`."""

    name: str
    files: tuple[Path, ...]
    env_file: Path

    def argv(self, *args: str) -> list[str]:
        """The command line of `docker compose ARGS` on this project."""
        files = [arg for file in self.files for arg in ("--file", str(file))]
        return [
            "docker", "compose", "--project-name", self.name, *files,
            "--env-file", str(self.env_file), *args,
        ]  # fmt: skip

    async def compose(self, *args: str) -> str:
        """Run `docker compose ARGS` on this project; its stdout (AssertionError with
        its stderr if it fails)."""
        code, out, err = await run(*self.argv(*args))
        assert code == 0, f"docker compose {' '.join(args)} ({self.name}) failed:\n{err}"
        return out

    async def down(self) -> None:
        """Remove the project's containers, networks and volumes."""
        await self.compose("down", "--volumes", "--remove-orphans", "--timeout", "10")


def leftovers(docker_client: docker.DockerClient, project: str) -> list[str]:
    """The containers, networks and volumes Compose made for `project` that still exist."""
    filters = {"label": f"{PROJECT_LABEL}={project}"}
    return [
        *(f"container {c.name}" for c in docker_client.containers.list(all=True, filters=filters)),
        *(f"network {n.name}" for n in docker_client.networks.list(filters=filters)),
        *(f"volume {v.name}" for v in docker_client.volumes.list(filters=filters)),
    ]
