"""Headless Chromium for the admin pages: its flags, the viewport, and the
problems a page shows (console errors, uncaught exceptions)."""

import re
from pathlib import Path

from playwright.async_api import Browser, ConsoleMessage, Dialog, Page, expect

from seeker.daemon import Seeker
from support.base import OPERATOR_TOKEN

# Debian's chromium, which ./scripts/setup installs; the tests never download a browser.
CHROMIUM = Path("/usr/bin/chromium")


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


LAPTOP = {"width": 1366, "height": 768}


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


class Problems(list[str]):
    """Console errors and uncaught exceptions of a page."""

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.append(f"uncaught: {error}"))
        page.on("dialog", _accept)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.append(f"console: {message.text}")


async def open_page(
    browser: Browser, seeker: Seeker, problems: Problems, viewport: dict[str, int] = LAPTOP
) -> Page:
    """A new page signed in to `seeker` with the operator token, as an operator would."""
    page = await browser.new_page(viewport=viewport, accept_downloads=True)
    problems.watch(page)
    await page.goto(f"{seeker.url}/admin/")
    await expect(page).to_have_url(re.compile(r"/admin/login\?next=%2Fadmin%2F$"))
    await page.get_by_label("Password or operator token").fill(OPERATOR_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{seeker.url}/admin/")
    return page
