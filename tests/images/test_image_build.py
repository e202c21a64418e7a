"""images/build against the real Docker Engine: labels written into the image, and its errors.

The error cases build from a temporary copy of images/ with scrapers of
unique names, so the real tree and the images other tests use stay untouched.
"""

import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support.base import REPO
from support.docker import build_leftovers, image_exists

IMAGES_DIR = REPO / "images"
BUILD_TIMEOUT_S = 300


def run_build(build: Path, *names: str) -> subprocess.CompletedProcess[str]:
    """Run an images/build script with this Python (where the SDK is installed)."""
    return subprocess.run(
        [sys.executable, str(build), *names],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )


def test_build_writes_the_labels_into_the_image(docker_client: docker.DockerClient) -> None:
    result = run_build(IMAGES_DIR / "build", "catalog")
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(
        r"images: built seekgive/catalog:1 \((sha256:[0-9a-f]{12}), 4 settings\)\n", result.stdout
    )
    assert match, result.stdout
    image = docker_client.images.get(match[1])
    labels = image.labels
    assert labels["seekgive.contract"] == "1"
    assert labels["org.opencontainers.image.title"] == "catalog"
    assert labels["org.opencontainers.image.description"]
    schema = json.loads(labels["seekgive.settings-schema"])
    assert schema["title"] == "catalog"
    assert len(schema["properties"]) == 4
    assert schema["properties"]["base_url"]["default"] == "http://127.0.0.1:8080"
    assert schema["properties"]["key_timeout_s"]["default"] == 30
    assert json.loads(labels["seekgive.resources"]) == {
        "memory_bytes": 256 * 1024 * 1024,
        "cpus": 1.0,
        "timeout_s": 600.0,
        "network": True,
    }
    assert build_leftovers(docker_client) == []


class ImagesCopy:
    """A copy of images/ (build, sdk) without scrapers, for scrapers of unique names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.build = root / "build"
        self.names: list[str] = []
        root.mkdir()
        shutil.copy2(IMAGES_DIR / "build", self.build)
        shutil.copytree(IMAGES_DIR / "sdk", root / "sdk")

    def add_scraper(self, dockerfile: str) -> str:
        """Add a scraper directory of a unique name; return the name.

        Its Dockerfile is ``dockerfile`` with NAME replaced by the name.
        """
        name = f"sgtest-{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        (self.root / name).mkdir()
        dockerfile = dockerfile.replace("NAME", name)
        (self.root / name / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        return name


@pytest.fixture
def images_copy(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[ImagesCopy]:
    """An ImagesCopy; whatever images its scrapers' names tag are untagged at the end."""
    copy = ImagesCopy(tmp_path / "images")
    yield copy
    for name in copy.names:
        for image in docker_client.images.list(name=f"seekgive/{name}"):
            for tag in image.tags:
                docker_client.images.remove(tag)


def test_an_unchanged_image_is_built_again_from_the_cache() -> None:
    """Setup runs images/build every time: with nothing changed it must make the
    same image, not a new one each run (and a dangling old one)."""
    built = [run_build(IMAGES_DIR / "build", "catalog") for _ in range(2)]
    assert [b.returncode for b in built] == [0, 0], [b.stderr for b in built]
    assert built[0].stdout == built[1].stdout


def test_a_scraper_named_unlike_its_directory_is_refused(
    images_copy: ImagesCopy, docker_client: docker.DockerClient
) -> None:
    dockerfile = (IMAGES_DIR / "catalog" / "Dockerfile").read_text(encoding="utf-8")
    name = images_copy.add_scraper(dockerfile)
    shutil.copy2(IMAGES_DIR / "catalog" / "scraper.py", images_copy.root / name / "scraper.py")
    result = run_build(images_copy.build, name)
    assert result.returncode == 1
    assert (
        f"images: building {name}: the scraper is named 'catalog', not '{name}' like its directory"
        in result.stderr
    )
    assert result.stdout == ""
    assert not image_exists(docker_client, f"seekgive/{name}:1")
    assert build_leftovers(docker_client) == []


def test_a_failing_dockerfile_shows_docker_output(
    images_copy: ImagesCopy, docker_client: docker.DockerClient
) -> None:
    name = images_copy.add_scraper(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo this step fails >&2 && exit 3\n",
    )
    result = run_build(images_copy.build, name)
    assert result.returncode == 1
    assert "this step fails" in result.stderr
    assert f"images: building {name}: docker build failed" in result.stderr
    assert not image_exists(docker_client, f"seekgive/{name}:1")


def test_labels_that_are_not_json_are_refused(
    images_copy: ImagesCopy, docker_client: docker.DockerClient
) -> None:
    name = images_copy.add_scraper(
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nENTRYPOINT ["echo", "hello"]\n'
    )
    result = run_build(images_copy.build, name)
    assert result.returncode == 1
    assert f"images: building {name}: `labels` printed no JSON" in result.stderr
    assert "hello labels" in result.stderr
    assert not image_exists(docker_client, f"seekgive/{name}:1")
    assert build_leftovers(docker_client) == []


def test_unknown_names_and_base_are_refused(images_copy: ImagesCopy) -> None:
    (images_copy.root / "base").mkdir()
    (images_copy.root / "base" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    for name in ("nothing-here", "base"):
        result = run_build(images_copy.build, name)
        assert result.returncode == 2
        assert result.stderr == f"images: no scraper images/{name}/Dockerfile\n"


def test_no_scrapers_is_not_an_error(images_copy: ImagesCopy) -> None:
    result = run_build(images_copy.build)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "images: no scraper images (no images/*/Dockerfile)\n"
