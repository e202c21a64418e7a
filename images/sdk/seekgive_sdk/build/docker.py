"""The docker command line, run with its output captured."""

import subprocess

from .errors import BuildError

LOG_TAIL_LINES = 30


def docker(*args: str, timeout_s: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``docker ARGS``, capturing its output; TimeoutExpired after ``timeout_s``."""
    try:
        return subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except FileNotFoundError as e:
        raise BuildError("no docker command found; install Docker") from e


def tail(text: str) -> str:
    """The last lines of ``text``, indented, to show under an error."""
    lines = text.strip().splitlines()[-LOG_TAIL_LINES:]
    return "\n".join(f"    {line}" for line in lines)
