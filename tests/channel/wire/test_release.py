"""Releases compare by the numbers they begin with; a Giver that names none
predates every minimum."""

import pytest

from channel.wire.release import older_than, release_key

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("version", "minimum", "older"),
    [
        ("0.1.0", "0.2.0", True),
        ("0.2.0", "0.2", False),
        ("0.10.0", "0.9.1", False),
        ("1.0.0rc1", "1.0", False),
        ("", "0.1.0", True),
        ("not a release", "0.1.0", True),
        ("0.1.0", "", False),
    ],
)
def test_a_release_is_older_than_a_minimum_by_its_numbers(
    version: str, minimum: str, older: bool
) -> None:
    assert older_than(version, minimum) is older


def test_what_begins_with_no_number_is_no_release() -> None:
    assert release_key("latest") is None
    assert release_key("v1") is None
    assert release_key("2.0.0") == (2,)
