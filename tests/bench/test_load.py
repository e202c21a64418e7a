"""bench/load.py at smoke sizes: every phase runs (SQLite, MongoDB on FerretDB, the
failover, the Celery baseline, the registration flood, the history figures), every
key of every result the Channel acknowledged is exported once, in the plain runs
and across the failover, and a flood of registrations is logged in summary lines,
never in a line per Giver."""

import json

import pytest
from support.benches import BENCH, STDERR_TAIL_CHARS, STOP_TIMEOUT_S, run_smoke

LOAD_SMOKE_TIMEOUT_S = 300.0

pytestmark = pytest.mark.mongo


@pytest.mark.timeout(LOAD_SMOKE_TIMEOUT_S + 2 * STOP_TIMEOUT_S)
def test_the_load_bench_loses_no_key_and_counts_none_twice_also_across_a_failover() -> None:
    done = run_smoke(BENCH / "load.py", timeout_s=LOAD_SMOKE_TIMEOUT_S)
    stderr_tail = done.stderr[-STDERR_TAIL_CHARS:]
    assert done.returncode == 0, f"load.py --smoke exited with {done.returncode}:\n{stderr_tail}"
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["smoke"] is True
    for run in ("sqlite", "realistic_sqlite", "mongo", "failover"):
        assert figures[f"results_delivered_{run}"] > 0, (run, figures)
        assert figures[f"keys_exported_{run}"] > 0, (run, figures)
        assert figures[f"keys_lost_{run}"] == 0, (run, figures)
        assert figures[f"keys_double_{run}"] == 0, (run, figures)
    assert figures["keys_lost"] == figures["keys_double"] == 0
    assert figures["takeover_s_failover"] > 0
    assert figures["reconnect_95_s_failover"] >= figures["takeover_s_failover"]
    assert figures["celery_tasks_per_s"] > 0
    assert "FerretDB" in figures["mongo_note"]
    assert figures["flood_registrations"] > figures["flood_log_lines"], figures
    assert figures["flood_log_lines_naming_givers"] == 0, figures
    assert figures["history_jobs"] == 50
    for name in (
        "rss_mb_empty_store",
        "rss_mb_10k_finished_jobs",
        "overview_ms_empty_store",
        "overview_ms_10k_finished_jobs",
    ):
        assert figures[name] > 0, (name, figures)
