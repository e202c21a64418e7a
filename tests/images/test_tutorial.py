"""images/README.md's tutorial, followed step by step in a temporary directory outside
the checkout.

The code comes from the tutorial's own blocks, so the text and the test cannot drift
apart: its shell blocks run in order in one bash (so a step's variables, activated
venv and background jobs are there for the next), `scraper.py` and `Dockerfile` are
written from its python and dockerfile blocks, and what the scraper prints in step 3
must be the output the text shows.

The one difference from the text: nothing is downloaded here, so the SDK is installed
from the locally built wheel (the `sdk_wheels` fixture). `pip install` gets
`--no-index --find-links WHEELS`, the Dockerfile's pip line is replaced by the lines
images/catalog/Dockerfile installs the wheels with, and `seekgive-sdk build` gets
`--wheels WHEELS` and the local base image. So that the test can run beside others,
`SEEKGIVE` is this checkout, the ports 8080 and 8765 are free ones and the image is
tagged uniquely instead of seekgive/words:1.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support.base import BASE_IMAGE, REPO, free_port

README = REPO / "images" / "README.md"
CATALOG_DOCKERFILE = REPO / "images" / "catalog" / "Dockerfile"
SECTION = ("## Write your first scraper in ten minutes", "## The examples")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DONE = "tutorial-step-done"
PIP_LINE = 'RUN python3 -m pip install --no-cache-dir "seekgive-sdk>=1,<2"\n'


def tutorial_blocks() -> list[tuple[str, str]]:
    """The tutorial's fenced blocks, in order, as (language, text)."""
    text = README.read_text(encoding="utf-8")
    start, end = text.index(SECTION[0]), text.index(SECTION[1])
    return BLOCK.findall(text[start:end])


def swap(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new``; ``old`` must be there."""
    assert old in text, f"the tutorial no longer has {old!r}"
    return text.replace(old, new)


def wheel_install_lines() -> str:
    """The lines of images/catalog/Dockerfile that install the SDK from wheels/."""
    dockerfile = CATALOG_DOCKERFILE.read_text(encoding="utf-8")
    return dockerfile[dockerfile.index("COPY wheels") : dockerfile.index("COPY scraper.py")]


class Shell:
    """One bash, in a process group of its own, that runs the steps one after another."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            ["bash"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, script: str) -> tuple[int, str]:
        """Run ``script``; return the exit code of its last command and what it printed."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{script}\necho {DONE} $?\n")
        self.process.stdin.flush()
        lines = []
        for line in self.process.stdout:
            if line.startswith(DONE):
                return int(line.split()[1]), "".join(lines)
            lines.append(line)
        raise AssertionError("bash exited:\n" + "".join(lines))

    def stop(self) -> None:
        """End bash and whatever it left running, and wait until they are gone."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        self.process.communicate()
        while True:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory of a short path: the unix sockets of the egress gateway's
    doors, under it, must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="sgt-"))
    yield path
    shutil.rmtree(path)


@pytest.fixture
def shell(short_tmp: Path) -> Iterator[Shell]:
    shell = Shell(short_tmp)
    shell.run("set -e")
    yield shell
    shell.stop()


@pytest.fixture
def words_tag(docker_client: docker.DockerClient) -> Iterator[str]:
    tag = f"seekgive-test/words-{uuid.uuid4().hex[:10]}:1"
    yield tag
    for image in docker_client.images.list(name=tag.partition(":")[0]):
        docker_client.images.remove(image.id, force=True)


class Tutorial:
    """The tutorial's blocks made to run here (see the module's docstring)."""

    def __init__(self, directory: Path, wheels: Path, tag: str) -> None:
        self.directory = directory
        self.wheels = wheels
        self.tag = tag
        self.ports = {"8080": str(free_port()), "8765": str(free_port())}
        self.replaced: set[str] = set()  # what script() found to replace

    def local(self, text: str) -> str:
        """``text`` with this test's ports and image tag."""
        for port, free in self.ports.items():
            text = text.replace(port, free)
        return text.replace("seekgive/words:1", self.tag)

    def script(self, text: str) -> str:
        """A shell block as it runs here."""
        script = self.local(text)
        for old, new in (
            ("SEEKGIVE=~/seekgive", f"SEEKGIVE={REPO}"),
            (
                'pip install "seekgive-sdk',
                f'pip install --no-index --find-links {self.wheels} "seekgive-sdk',
            ),
            (
                "seekgive-sdk build",
                f"seekgive-sdk build --wheels {self.wheels} --base-image {BASE_IMAGE}"
                f" --tag {self.tag}",
            ),
        ):
            if old in script:
                script = script.replace(old, new)
                self.replaced.add(old)
        return script

    def write(self, language: str, text: str) -> None:
        """Write the file a python or dockerfile block holds."""
        if language == "python":
            (self.directory / "scraper.py").write_text(self.local(text), encoding="utf-8")
        else:
            dockerfile = swap(text, PIP_LINE, wheel_install_lines())
            (self.directory / "Dockerfile").write_text(dockerfile, encoding="utf-8")


@pytest.mark.timeout(600)
def test_the_tutorial_works_outside_the_checkout(
    short_tmp: Path,
    shell: Shell,
    sdk_wheels: Path,
    words_tag: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tutorial = Tutorial(short_tmp / "words", sdk_wheels, words_tag)
    shown: list[str] = []  # the outputs the text shows
    printed: list[str] = []  # what each shell block printed
    timings = []
    started_s = time.monotonic()
    for number, (language, text) in enumerate(tutorial_blocks(), 1):
        step_started_s = time.monotonic()
        if language in ("python", "dockerfile"):
            tutorial.write(language, text)
            continue
        if language == "":
            shown.append(tutorial.local(text))
            continue
        assert language == "sh", f"block {number} is {language!r}"
        script = tutorial.script(text)
        code, output = shell.run(script)
        assert code == 0, f"block {number} exited with {code}:\n{script}\n{output}"
        printed.append(output)
        timings.append(f"{number}: {time.monotonic() - step_started_s:.1f} s")
    code, output = shell.run("kill %4 %3 %2 %1")  # "stop what you started"
    assert code == 0, output
    wall_s = time.monotonic() - started_s
    with capsys.disabled():
        print(f"\nthe tutorial took {wall_s:.1f} s (shell blocks {', '.join(timings)})")

    assert len(tutorial.replaced) == 3, "the tutorial no longer says all this test replaces"
    _, _, tried, _, build, run, _, job = printed
    records_and_statuses = shown[0].splitlines()
    statuses = [line for line in records_and_statuses if '"ok":' in line]
    assert tried.splitlines()[-len(records_and_statuses) :] == records_and_statuses
    built = re.escape(shown[1].strip()).replace(r"\.\.\.", "[0-9a-f]{12}")
    assert re.fullmatch(built, build.strip()), build
    assert run.splitlines()[-len(statuses) :] == statuses
    assert "done: 2/3 done, 1 failed" in job
    exported = [json.loads(line) for line in job.splitlines() if line.startswith("{")]
    assert [(record["key"], record["data"]["words"]) for record in exported] == [
        ("Main_Page", 5),
        ("Douglas_Fir", 4),
        ("Main_Page", 5),
        ("Douglas_Fir", 4),
    ]
    assert "capture" in exported[2]
