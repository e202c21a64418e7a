"""Givers say which seekgive release they run, and a Seeker with a minimum refuses
older ones: a real `giver run` below the minimum is told once what to upgrade
to, asks again only after minutes, and `giver status` shows why; one at the
minimum is admitted and listed with its release in the API and on the admin
page."""

import re
from pathlib import Path

import aiohttp
import pytest
from support.api import online_givers
from support.base import BIN, run, until
from support.givers import GiverFactory
from support.processes import giver_cli, giver_process

from channel.wire.release import SEEKGIVE_VERSION
from giver.link.registration import TOO_OLD_RETRY_S
from seeker.daemon import Seeker

NEWER = "99.1"


@pytest.mark.seeker_config(open_registration=True, min_giver_version=NEWER)
async def test_a_giver_older_than_the_minimum_is_told_once_what_to_upgrade_to(
    tmp_path: Path, seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    data, log_path = tmp_path / "old", tmp_path / "old.log"
    async with giver_process(log_path, "--seeker", seeker.url, "--data-dir", data):
        shown = await until(
            lambda: giver_cli("status", "--data-dir", data),
            "giver status to show the refusal",
            holds=lambda answer: "refused:" in answer[1],
        )
        async with http.get(f"{seeker.url}/api/v1/givers") as response:
            listed = await response.json()
    message = (
        f"runs seekgive {SEEKGIVE_VERSION}; this Seeker takes Givers of seekgive {NEWER} or "
        f"newer: upgrade seekgive on the Giver to {NEWER} or newer"
    )
    assert "refused:      giver g" in shown[1] and message in shown[1]
    log = log_path.read_text()
    assert log.count(message) == 1, log
    waits = re.findall(r"refuses this Giver: .*; retrying in ([\d.]+) s", log)
    assert len(waits) == 1 and float(waits[0]) >= TOO_OLD_RETRY_S / 2, log
    assert (listed["givers"], listed["pending"]) == ([], [])


@pytest.mark.seeker_config(open_registration=True, min_giver_version=SEEKGIVE_VERSION)
async def test_a_giver_at_the_minimum_is_listed_with_its_release(
    seeker: Seeker, giver: GiverFactory, http: aiohttp.ClientSession
) -> None:
    await giver("current").start()
    (listed,) = await online_givers(seeker)
    assert listed["version"] == SEEKGIVE_VERSION
    async with http.get(f"{seeker.url}/admin/givers") as response:
        page = await response.text()
    assert f'<span class="giver-version">seekgive {SEEKGIVE_VERSION}</span>' in page


async def test_a_minimum_that_is_no_release_stops_seeker_run(tmp_path: Path) -> None:
    code, _, err = await run(
        BIN / "seeker", "run", "--data-dir", tmp_path, "--min-giver-version", "latest"
    )
    assert (code, err) == (
        1,
        "seeker: error: min_giver_version: 'latest' is not a seekgive release such as 0.2.0\n",
    )
