"""What nearly every test needs: the repository's paths, the images and the
operator token the fixtures use, timeouts, running a command, and the one
polling helper (`until`, and `until_blocking` outside the event loop)."""

import asyncio
import inspect
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ferretdb import free_port as free_port

REPO = Path(__file__).resolve().parents[2]


TESTS = REPO / "tests"


BIN = Path(sys.executable).parent


BASE_IMAGE = os.environ.get("BASE_IMAGE", "seekgive/base:bookworm")


CATALOG_IMAGE = "seekgive/catalog:1"


JSONAPI_IMAGE = "seekgive/jsonapi:1"


LINKS_IMAGE = "seekgive/links:1"


FAULTY_IMAGE = "seekgive-test/faulty:1"


HOSTILE_IMAGE = "seekgive-test/hostile:1"


JOB_TIMEOUT_S = 90.0


POLL_S = 0.1


# The operator token every test Seeker accepts (SeekerConfig.operator_token).
OPERATOR_TOKEN = "sgo_test-operator-token"


OPERATOR_HEADERS = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def operator_token_file(directory: Path) -> Path:
    """A file holding OPERATOR_TOKEN, for `seeker run --operator-token-file`."""
    path = directory / "operator-token"
    path.write_text(OPERATOR_TOKEN + "\n")
    path.chmod(0o600)
    return path


async def run(*argv: object, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """Run a command to its end (with `env` added to the environment): its exit
    code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *map(str, argv),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env} if env else None,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def until(
    check: Callable[[], Any],
    what: str = "the condition",
    *,
    holds: Callable[[Any], bool] = bool,
    timeout_s: float = JOB_TIMEOUT_S,
) -> Any:
    """Call `check()` (sync or async) until `holds` what it returned (by default:
    until it is true), and return that; AssertionError naming `what` if it does not
    within `timeout_s`.

    The state is spread over sockets or behind an HTTP API, so there is no event
    to wait on: poll.
    """
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                value = check()
                if inspect.isawaitable(value):
                    value = await value
                if holds(value):
                    return value
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise AssertionError(f"waited {timeout_s:.0f} s in vain for {what}") from None


def until_blocking(condition: Callable[[], object], what: str, timeout_s: float = 60.0) -> None:
    """`until` for code that runs outside the event loop: sleeps between tries."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(POLL_S)
