"""Where a volunteer's address went, as the ledger keeps it: the live view by job
and host, bounded, and the log, private to the Giver's user and rotated."""

import json
from pathlib import Path

import pytest

from giver.egress.ledger import LIVE_HOSTS, Exchange, Ledger

pytestmark = pytest.mark.unit


def test_a_job_keeps_so_many_hosts_and_counts_the_rest_together(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    for n in range(LIVE_HOSTS + 5):
        ledger.record(Exchange("j1", "t1", f"h{n}.example", 443, "CONNECT", "tunnel"))
    hosts = ledger.view()["j1"]
    assert len(hosts) == LIVE_HOSTS + 1
    assert hosts["other hosts"]["requests"] == 5
    ledger.record(Exchange("j2", "t2", "::1", 8080, "GET", "refused"))
    assert list(ledger.view()["j2"]) == ["[::1]:8080"]


def test_the_log_is_the_volunteers_alone_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("giver.egress.ledger.LOG_BYTES", 1000)
    ledger = Ledger(tmp_path)
    ledger.open()
    for n in range(100):
        ledger.record(Exchange("j1", "t1", f"h{n}.example", 443, "CONNECT", "tunnel"))
    ledger.close()
    files = sorted(p.name for p in tmp_path.glob("egress.log*"))
    assert files == ["egress.log", "egress.log.1", "egress.log.2", "egress.log.3"]
    assert {(tmp_path / name).stat().st_mode & 0o777 for name in files} == {0o600}
    assert all((tmp_path / name).stat().st_size <= 1000 for name in files)
    last = (tmp_path / "egress.log").read_text().splitlines()[-1]
    assert json.loads(last)["host"] == "h99.example"
