"""Architecture names: what machines call themselves, as Docker platforms name them."""

import platform

import pytest

from channel.wire.givers import Capabilities
from channel.wire.platforms import PLATFORM_ARCHES, platform_arch
from giver.sandbox.probe import arch

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("x86_64", "amd64"),
        ("AMD64", "amd64"),
        ("aarch64", "arm64"),
        ("linux/arm64", "arm64"),
        ("armv7l", "arm/v7"),
        ("armhf", "arm/v7"),
        ("armv6l", "arm/v6"),
        ("i686", "386"),
        ("ppc64el", "ppc64le"),
        (" s390x ", "s390x"),
        ("vax", None),
        ("", None),
    ],
)
def test_machine_names_become_platform_names(given: str, expected: str | None) -> None:
    assert platform_arch(given) == expected


def test_every_platform_name_stands_for_itself() -> None:
    assert all(platform_arch(name) == name for name in PLATFORM_ARCHES)


def test_the_probe_reports_this_machine_by_its_platform_name() -> None:
    assert arch() == platform_arch(platform.machine())
    assert (arch("aarch64"), arch("armv7l"), arch("Mystery9")) == ("arm64", "arm/v7", "mystery9")


def test_a_giver_reporting_its_machine_name_is_compared_by_its_platform_name() -> None:
    wire = Capabilities(2, 2**30, "amd64", "linux", "24", 1).to_wire()
    assert Capabilities.from_wire({**wire, "arch": "aarch64"}).arch == "arm64"
    assert Capabilities.from_wire({**wire, "arch": "mystery9"}).arch == "mystery9"
