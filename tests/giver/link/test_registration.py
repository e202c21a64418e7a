"""Registering with a real Seeker that admits no one by itself: a Giver that
trusts another Seeker key than this Seeker's stops at once, with the reason,
before it waits for an operator's approval."""

import asyncio
from pathlib import Path

import aiohttp
import pytest
from support.api import call
from support.givers import GiverFactory
from support.processes import giver_process

from channel.wire.identity import Identity
from giver.errors import SeekerKeyChanged
from seeker.daemon import Seeker

WAIT_S = 30.0


async def test_a_seeker_key_that_does_not_match_stops_giver_run_before_any_approval(
    tmp_path: Path, seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    assert seeker.coordinator is not None
    right, wrong = seeker.coordinator.identity.public_key, Identity.generate().public_key
    data = tmp_path / "newcomer"
    flags = ("--seeker", seeker.url, "--data-dir", data, "--seeker-key", wrong)
    async with giver_process(tmp_path / "newcomer.log", *flags) as process:
        async with asyncio.timeout(WAIT_S):
            code = await process.wait()
    log = (tmp_path / "newcomer.log").read_text()
    assert code == 1, log
    assert (
        f"giver: error: the Seeker at {seeker.url} signs with key {right}, but this Giver "
        f"trusts key {wrong} (given as --seeker-key"
    ) in log
    assert "`seeker id` prints it" in log and "Traceback" not in log
    view = (await call(http, "GET", f"{seeker.url}/api/v1/givers"))[1]
    assert (view["givers"], view["pending"]) == ([], [])


async def test_a_pinned_key_that_does_not_match_stops_the_giver_before_any_approval(
    tmp_path: Path, seeker: Seeker, giver: GiverFactory
) -> None:
    pinned = tmp_path / "pinned" / "seeker-key.pub"
    pinned.parent.mkdir()
    pinned.write_text(Identity.generate().public_key + "\n")
    with pytest.raises(SeekerKeyChanged, match=f"delete {pinned}"):
        async with asyncio.timeout(WAIT_S):
            await giver("pinned").start()
