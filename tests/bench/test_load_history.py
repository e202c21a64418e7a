"""The figures of what history costs the Seeker (bench/_load_history.py, which
bench/load.py reports) come out at smoke sizes: a real `seeker run` on an empty
state store and on one filled with finished jobs, its RSS and overview latency."""

import json
import subprocess
import sys

import pytest
from support.base import REPO

TIMEOUT_S = 120.0
FIGURES = (
    "rss_mb_empty_store",
    "rss_mb_10k_finished_jobs",
    "overview_ms_empty_store",
    "overview_ms_10k_finished_jobs",
)


@pytest.mark.timeout(TIMEOUT_S + 10)
def test_the_history_figures_come_out_at_smoke_sizes() -> None:
    done = subprocess.run(
        [sys.executable, "bench/_load_history.py", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["history_jobs"] == 50
    for name in FIGURES:
        assert isinstance(figures[name], float) and figures[name] > 0, (name, figures)
