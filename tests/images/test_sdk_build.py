"""`seekgive-sdk build` against the real Docker Engine, from a directory outside the checkout.

Each run gets its own TMPDIR, so the tests see that the build leaves no
temporary directory behind; `build_leftovers` sees its temporary tags and
containers.
"""

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from seekgive_sdk import __version__
from support.base import BASE_IMAGE, BIN, REPO
from support.docker import build_leftovers, image_exists

BUILD_TIMEOUT_S = 300
SCRAPER = """
import seekgive_sdk


def scrape(key, ctx):
    \"\"\"Echoes its keys.\"\"\"
    return {"key": key}


if __name__ == "__main__":
    seekgive_sdk.run(scrape, name="NAME")
"""


class Build:
    """Runs `seekgive-sdk build` with a TMPDIR of its own."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        tmp.mkdir()

    def __call__(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "seekgive-sdk"), "build", *args],
            cwd=cwd,
            env={**os.environ, "TMPDIR": str(self.tmp)},
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )

    def left_behind(self) -> list[str]:
        return [path.name for path in self.tmp.iterdir()]


@pytest.fixture
def sdk_build(tmp_path: Path) -> Build:
    return Build(tmp_path / "tmpdir")


@pytest.fixture
def name(docker_client: docker.DockerClient) -> Iterator[str]:
    """A scraper name no image has; seekgive/NAME:1 is untagged at the end."""
    name = f"sgtest-{uuid.uuid4().hex[:10]}"
    yield name
    for image in docker_client.images.list(name=f"seekgive/{name}"):
        for tag in image.tags:
            docker_client.images.remove(tag)


def scraper_dir(root: Path, dockerfile: str, name: str = "") -> Path:
    """A scraper directory with this Dockerfile and a scraper named ``name``."""
    root.mkdir()
    (root / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    (root / "scraper.py").write_text(SCRAPER.replace("NAME", name), encoding="utf-8")
    return root


def test_build_labels_and_tags_the_image_of_the_current_directory(
    tmp_path: Path,
    sdk_build: Build,
    sdk_wheels: Path,
    name: str,
    docker_client: docker.DockerClient,
) -> None:
    dockerfile = (REPO / "images" / "catalog" / "Dockerfile").read_text(encoding="utf-8")
    directory = scraper_dir(tmp_path / "mine", dockerfile, name)
    result = sdk_build("--wheels", str(sdk_wheels), "--base-image", BASE_IMAGE, cwd=directory)
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(
        rf"built seekgive/{name}:1 \((sha256:[0-9a-f]{{12}}), 2 settings\)\n", result.stdout
    )
    assert match, result.stdout
    labels = docker_client.images.get(f"seekgive/{name}:1").labels
    assert labels["org.opencontainers.image.title"] == name
    assert labels["org.opencontainers.image.description"] == "Echoes its keys."
    assert labels["seekgive.contract"] == "1"
    assert json.loads(labels["seekgive.settings-schema"])["title"] == name
    assert not (directory / "wheels").exists()
    assert build_leftovers(docker_client) == []
    assert sdk_build.left_behind() == []


def test_a_directory_without_a_dockerfile_is_one_line(tmp_path: Path, sdk_build: Build) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = sdk_build(cwd=empty)
    assert result.returncode == 1
    assert result.stderr == (
        "seekgive-sdk build: no Dockerfile in .; give the directory of the scraper's Dockerfile\n"
    )
    result = sdk_build("nowhere", cwd=empty)
    assert result.returncode == 1
    assert result.stderr == (
        "seekgive-sdk build: no directory nowhere; give the directory of the scraper's Dockerfile\n"
    )
    assert result.stdout == ""
    assert sdk_build.left_behind() == []


FIX = "its entrypoint must be a seekgive_sdk scraper that prints its labels when given `labels`"


@pytest.mark.parametrize(
    ("entrypoint", "options", "error"),
    [
        (
            ["python3", "-c", "import sys; sys.exit('cannot start')"],
            (),
            f"`labels` exited with code 1 (its output is above); {FIX}",
        ),
        (
            ["python3", "-c", "import time; time.sleep(60)"],
            ("--labels-timeout", "2"),
            f"`labels` took more than 2 s; {FIX} and exit",
        ),
        (
            ["echo", "hello"],
            (),
            "`labels` printed no JSON (Expecting value: line 1 column 1 (char 0)); " + FIX,
        ),
        (
            ["python3", "-c", 'print(\'{"seekgive.contract": "1"}\')'],
            (),
            f"`labels` printed no 'seekgive.settings-schema' label; {FIX}",
        ),
    ],
    ids=["fails", "hangs", "prints-no-json", "prints-too-little"],
)
def test_a_scraper_that_cannot_describe_itself_is_refused_and_nothing_is_left(
    tmp_path: Path,
    sdk_build: Build,
    new_tag: str,
    docker_client: docker.DockerClient,
    entrypoint: list[str],
    options: tuple[str, ...],
    error: str,
) -> None:
    dockerfile = f"ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nENTRYPOINT {json.dumps(entrypoint)}\n"
    directory = scraper_dir(tmp_path / "broken", dockerfile)
    result = sdk_build(
        str(directory), "--base-image", BASE_IMAGE, "--tag", new_tag, *options, cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"seekgive-sdk build: {error}"
    assert result.stdout == ""
    assert not image_exists(docker_client, new_tag)
    assert build_leftovers(docker_client) == []
    assert sdk_build.left_behind() == []


def test_wheels_that_are_no_wheels_are_refused(tmp_path: Path, sdk_build: Build) -> None:
    directory = scraper_dir(tmp_path / "mine", "FROM scratch\n")
    result = sdk_build("--wheels", str(tmp_path), cwd=directory)
    assert result.returncode == 1
    assert result.stderr == (
        f"seekgive-sdk build: --wheels {tmp_path} is no directory of wheels (*.whl)\n"
    )
    assert sdk_build.left_behind() == []


def test_the_wheels_are_the_sdk_and_pip(sdk_wheels: Path) -> None:
    """images/build --write-wheels (the `sdk_wheels` fixture) writes the two wheels the
    example Dockerfiles install from."""
    names = sorted(path.name for path in sdk_wheels.iterdir())
    assert len(names) == 2
    assert re.fullmatch(r"pip-[0-9.]+-py3-none-any\.whl", names[0])
    assert names[1] == f"seekgive_sdk-{__version__}-py3-none-any.whl"
