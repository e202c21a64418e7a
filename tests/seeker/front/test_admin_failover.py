"""The admin page through `seeker front`, in a real headless Chromium: signed in
once, it stays signed in and its live view comes back by itself when the leader
dies and the other Seeker takes over."""

import asyncio
import re
import signal
from pathlib import Path

from playwright.async_api import Browser, expect
from support.base import JOB_TIMEOUT_S, OPERATOR_TOKEN
from support.browser import LAPTOP
from support.processes import seekers_behind_front

WAIT_MS = JOB_TIMEOUT_S * 1000


async def test_a_signed_in_admin_page_stays_signed_in_and_live_through_a_failover(
    tmp_path: Path, mongo_url: str, browser: Browser
) -> None:
    async with seekers_behind_front(tmp_path, mongo_url) as fronted:
        page = await browser.new_page(viewport=LAPTOP)
        await page.goto(f"{fronted.url}/admin/")
        await expect(page).to_have_url(re.compile(r"/admin/login\?next=%2Fadmin%2F$"))
        await page.get_by_label("Password or operator token").fill(OPERATOR_TOKEN)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{fronted.url}/admin/")
        live = page.locator("[data-live-state]")
        await expect(live).to_have_attribute("data-state", "live", timeout=WAIT_MS)

        leader = fronted.seekers[0]
        leader.send_signal(signal.SIGKILL)
        await asyncio.to_thread(leader.wait)
        await expect(live).to_have_attribute("data-state", "down", timeout=WAIT_MS)
        await expect(live).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        assert f"none -> {fronted.upstreams[1]}" in fronted.front.log()

        # The session cookie is signed with a key in the shared store: the new leader
        # takes it.
        await page.reload()
        await expect(page).to_have_url(f"{fronted.url}/admin/")
        await expect(live).to_have_attribute("data-state", "live", timeout=WAIT_MS)
