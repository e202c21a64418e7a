"""Headless Chromium for the admin pages: its flags, the viewport, and the
problems a page shows (console errors, uncaught exceptions)."""

from pathlib import Path

from playwright.async_api import ConsoleMessage, Dialog, Page

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
