"""The SDK as its own distribution, seekgive-sdk: its version, its metadata, and what
its build command refuses before it runs docker (pure logic, in-process)."""

import importlib.metadata
import json
import tomllib

import pytest
from seekgive_sdk import CONTRACT_VERSION, __version__
from seekgive_sdk.build.cli import main
from seekgive_sdk.build.errors import BuildError
from seekgive_sdk.build.labels import FIX, check_labels
from support.base import REPO

from channel.wire.models import CONTRACT_VERSION as GRID_CONTRACT_VERSION

pytestmark = pytest.mark.unit

PYPROJECT = REPO / "images" / "sdk" / "pyproject.toml"
SCHEMA = json.dumps({"type": "object", "properties": {}})
GOOD = {
    "seekgive.settings-schema": SCHEMA,
    "seekgive.contract": "1",
    "seekgive.resources": "{}",
    "org.opencontainers.image.title": "words",
}
NOSTR = "`labels` printed no JSON object of strings"


def test_the_major_version_is_the_contract_the_sdk_and_the_grid_speak() -> None:
    assert __version__.split(".")[0] == str(CONTRACT_VERSION)
    assert importlib.metadata.version("seekgive-sdk") == __version__
    assert CONTRACT_VERSION == GRID_CONTRACT_VERSION


def test_the_distribution_depends_on_nothing_and_takes_its_version_from_the_package() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert project["project"]["name"] == "seekgive-sdk"
    assert project["project"]["dependencies"] == []
    assert project["project"]["dynamic"] == ["version"]
    version = project["tool"]["setuptools"]["dynamic"]["version"]
    assert version == {"attr": "seekgive_sdk.version.__version__"}
    assert project["project"]["scripts"] == {"seekgive-sdk": "seekgive_sdk.build.cli:main"}


def test_labels_the_scraper_printed_are_checked() -> None:
    assert check_labels(json.dumps(GOOD)) == GOOD


@pytest.mark.parametrize(
    ("printed", "error"),
    [
        ("hello labels", "`labels` printed no JSON (Expecting value: line 1 column 1 (char 0))"),
        ('["a"]', NOSTR),
        (json.dumps({**GOOD, "seekgive.contract": 1}), NOSTR),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "seekgive.resources"}),
            "`labels` printed no 'seekgive.resources' label",
        ),
        (json.dumps({**GOOD, "seekgive.contract": "v1"}), "`labels` printed a bad contract 'v1'"),
        (
            json.dumps({**GOOD, "seekgive.settings-schema": "[]"}),
            "the seekgive.settings-schema label is not a JSON object",
        ),
    ],
)
def test_labels_that_do_not_describe_a_scraper_are_refused_saying_why(
    printed: str, error: str
) -> None:
    with pytest.raises(BuildError) as caught:
        check_labels(printed)
    assert caught.value.message == f"{error}; {FIX}"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--build-arg", "NOEQUALS"], "argument --build-arg: 'NOEQUALS' is not NAME=VALUE"),
        (["--labels-timeout", "0"], "argument --labels-timeout: '0' is not a number of seconds"),
    ],
)
def test_bad_options_are_refused_before_anything_is_built(
    args: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["build", *args])
    assert caught.value.code == 2
    assert error in capsys.readouterr().err.splitlines()[-1]
