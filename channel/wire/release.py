"""Which seekgive release this code is, and how two releases compare: the Seeker
refuses Givers older than its `min_giver_version`, and a store names the release
that wrote it."""

import importlib.metadata
import re

SEEKGIVE_VERSION = importlib.metadata.version("seekgive")
RELEASE = re.compile(r"(\d+(?:\.\d+)*)")


def release_key(text: str) -> tuple[int, ...] | None:
    """The numbers a release begins with ("0.2.0rc1": (0, 2, 0)), trailing zeros
    dropped so that 0.2 and 0.2.0 compare equal; None if it begins with none."""
    found = RELEASE.match(text)
    if found is None:
        return None
    numbers = [int(part) for part in found[1].split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def older_than(version: str, minimum: str) -> bool:
    """Whether release `version` comes before `minimum`; a Giver that names no
    release (it predates naming one) comes before any."""
    have, need = release_key(version), release_key(minimum)
    if need is None:
        return False
    return have is None or have < need
