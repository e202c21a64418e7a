"""Every bench still runs: its whole code path at tiny sizes (`--smoke`), ending with
its figures as one JSON object (`--json`); no bench shadows a module of the repo
when run as a script (its folder heads sys.path then).

A bench is each bench/*.py but the helpers, whose names start with "_"; a new
bench is run here without being listed, unless a test module of its own
(test_NAME.py here) runs its smoke and checks its figures further.
"""

import json
from pathlib import Path

import pytest
from support.base import REPO
from support.benches import (
    BENCH,
    BENCHES,
    SMOKE_TIMEOUT_S,
    STDERR_TAIL_CHARS,
    STOP_TIMEOUT_S,
    run_smoke,
)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_there_are_benches_to_run() -> None:
    assert BENCHES, f"no bench in {BENCH.name}/"


@pytest.mark.timeout(SMOKE_TIMEOUT_S + 2 * STOP_TIMEOUT_S)
@pytest.mark.parametrize("bench", BENCHES, ids=lambda path: path.stem)
def test_a_bench_runs_at_smoke_sizes_and_ends_with_its_figures_as_one_json_object(
    bench: Path,
) -> None:
    done = run_smoke(bench)
    stderr_tail = done.stderr[-STDERR_TAIL_CHARS:]
    assert done.returncode == 0, (
        f"{bench.name} --smoke exited with {done.returncode}; its stderr ends:\n{stderr_tail}"
    )
    lines = done.stdout.splitlines()
    assert lines, f"{bench.name} --smoke printed nothing; its stderr ends:\n{stderr_tail}"
    try:
        figures = json.loads(lines[-1])
    except json.JSONDecodeError as e:
        pytest.fail(f"{bench.name}'s last line is not JSON ({e}): {lines[-1]!r}")
    assert isinstance(figures, dict), lines[-1]
    assert any(is_number(value) for value in figures.values()), figures
    assert figures.get("smoke") is True, figures


def test_no_bench_is_named_like_a_package_of_the_repo_or_a_script_module() -> None:
    # Every folder at the root: with the root on sys.path each imports as a package,
    # with or without an __init__.py (images/ has none).
    packages = {path.name for path in REPO.iterdir() if path.is_dir() and path.name.isidentifier()}
    scripts = {path.stem for path in (REPO / "scripts").glob("*.py")}
    assert {"seeker", "giver", "channel", "images"} <= packages
    shadowing = {
        path.name: "a package of the repo" if path.stem in packages else "a module in scripts/"
        for path in BENCH.glob("*.py")
        if path.stem in packages | scripts
    }
    assert not shadowing, f"run as scripts, these would shadow what they name: {shadowing}"
