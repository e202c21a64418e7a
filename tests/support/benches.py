"""The benches (bench/*.py) as the tests run them: at smoke sizes, as the user would."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support.base import REPO

BENCH = REPO / "bench"
# Each bench but the helpers; one with a test module of its own is run there only.
BENCHES = sorted(
    path
    for path in BENCH.glob("*.py")
    if not path.name.startswith("_")
    and not (REPO / "tests" / "bench" / f"test_{path.stem}.py").exists()
)
SMOKE_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
STDERR_TAIL_CHARS = 4000


def run_smoke(
    bench: Path, *args: str, timeout_s: float = SMOKE_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """`python bench/NAME.py --smoke --json ARGS` from the repo's root. Past `timeout_s`
    it is sent SIGTERM, on which a bench stops what it started, then killed."""
    argv = [sys.executable, str(bench.relative_to(REPO)), "--smoke", "--json", *args]
    with subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                stdout, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
            pytest.fail(
                f"{bench.name} --smoke took over {timeout_s:.0f} s; its stderr ends:\n"
                f"{stderr[-STDERR_TAIL_CHARS:]}"
            )
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
