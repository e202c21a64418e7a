"""Screenshots of the admin pages for docs/admin.md.

Starts the demo shop, a Seeker and two Givers (in this process, on SQLite in a
temporary folder; their scrapers reach the shop through the Givers' egress
gateways), a third Giver waiting for approval, adds the catalog
scraper, runs one job to its end and leaves a larger one running, adds a
schedule and a token, then saves a PNG of each page at a laptop's width (and
two at a phone's) with Debian's headless Chromium. Needs what ./scripts/setup
installs; run it as `.venv/bin/python scripts/screenshots.py [OUT_DIR]`.
"""

import argparse
import asyncio
import contextlib
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import demo_site
from playwright.async_api import BrowserContext, async_playwright

from channel.wire import canonical
from giver.daemon import Giver
from giver.terms.config import GiverConfig
from seeker.config import SeekerConfig
from seeker.daemon import Seeker

IMAGE = "seekgive/catalog:1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
OPERATOR_TOKEN = "sgo_screenshots"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT_S = 120.0
POLL_S = 0.25


class Api:
    """The Seeker's JSON API, as an operator."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http, self._url = http, url

    async def __call__(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else canonical.dumps(body)
        async with self._http.request(method, f"{self._url}/api/v1{path}", data=data) as r:
            answer = await r.json()
            if r.status >= 400:
                raise RuntimeError(f"{method} {path}: {r.status} {answer}")
            return answer


async def until(condition: Callable[[], Awaitable[Any]], what: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
    print(f"screenshots: {what}")


async def shoot(
    browser: BrowserContext,
    url: str,
    out: Path,
    name: str,
    viewport: dict[str, int],
    *,
    clip_height: int = 0,
) -> None:
    """A screenshot of the page at `url`: the window, or its top `clip_height`
    pixels when that is more. The page is closed after (each open page holds an
    event stream, and a browser opens only a few connections to one host)."""
    page = await browser.new_page()
    await page.set_viewport_size(viewport)
    await page.goto(url)
    # The live numbers arrive over the event stream: wait for the first snapshot,
    # and for the overview's Health panel to have run its checks.
    await page.locator("body[data-snapshots]").wait_for(state="attached")
    if await page.locator("[data-health]").count():
        await page.locator("[data-health] [data-check-kind]").first.wait_for()
    if clip_height:
        clip = {"x": 0, "y": 0, "width": viewport["width"], "height": clip_height}
        await page.screenshot(path=out / f"{name}.png", full_page=True, clip=clip)
    else:
        await page.screenshot(path=out / f"{name}.png")
    await page.close()
    print(f"screenshots: {name}.png")


async def screenshots(out: Path, work: Path) -> None:
    site, site_url = await demo_site.serve()
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(site.cleanup)
        config = SeekerConfig(
            # Relative to the working folder, so that no path of this machine shows
            # in the Health panel's store names.
            port=0,
            data_dir=Path("seeker"),
            poll_interval_s=0.2,
            operator_token=OPERATOR_TOKEN,
        )
        seeker = await stack.enter_async_context(Seeker(config))
        headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        http = await stack.enter_async_context(aiohttp.ClientSession(headers=headers))
        api = Api(http, seeker.url)
        token = (await api("POST", "/tokens", {"label": "home lab", "uses": 2}))["token"]
        await api("POST", "/tokens", {"label": "Ana's laptop", "expires_in_s": 7 * 86400})
        for n, name in enumerate(("attic-pc", "spare-laptop")):
            giver = Giver(
                GiverConfig(
                    seeker_url=seeker.url,
                    data_dir=work / name,
                    name=name,
                    slots=2,
                    token=token,
                    labels={"site": "home"} if n == 0 else {},
                    allow_local=(urlsplit(site_url).netloc,),
                )
            )
            await stack.enter_async_context(giver)
        newcomer = Giver(
            GiverConfig(seeker_url=seeker.url, data_dir=work / "newcomer", name="office-desktop")
        )
        waiting = asyncio.create_task(newcomer.start())
        stack.push_async_callback(newcomer.stop)
        stack.callback(waiting.cancel)
        await api("POST", "/scrapers", {"image": IMAGE})
        job = {"scraper": "catalog", "network": "bridge", "settings": {"base_url": site_url}}
        done = await api(
            "POST", "/jobs", {**job, "name": "shop products", "range": [1, 41], "block_size": 5}
        )

        async def finished() -> bool:
            return (await api("GET", f"/jobs/{done['job_id']}"))["status"] == "done"

        await until(finished, "the first job is done")
        slow = {**job["settings"], "rate_limit_per_s": 2}
        running = await api(
            "POST",
            "/jobs",
            {**job, "name": "full catalog", "range": [1, 401], "block_size": 10, "settings": slow},
        )
        stack.push_async_callback(api, "POST", f"/jobs/{running['job_id']}/cancel")
        await api(
            "POST",
            "/schedules",
            {"name": "nightly catalog", "every_s": 86400, "job": {**job, "range": [1, 201]}},
        )

        async def under_way() -> bool:
            keys = (await api("GET", f"/jobs/{running['job_id']}"))["keys"]
            return keys["done"] >= 40

        await until(under_way, "the second job is under way")

        async def asked() -> bool:
            return bool((await api("GET", "/givers"))["pending"])

        await until(asked, "a Giver waits for approval")
        await shoot_pages(out, seeker.url, running["job_id"], done["job_id"])


async def shoot_pages(out: Path, url: str, job_id: str, done_id: str) -> None:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser = await chromium.new_context()
        await sign_in(browser, url)
        await shoot(browser, f"{url}/admin/", out, "overview", LAPTOP, clip_height=1400)
        # The finished job from its blocks down to a page of its records.
        await shoot(
            browser,
            f"{url}/admin/jobs/{done_id}?limit=4",
            out,
            "job-done",
            LAPTOP,
            clip_height=1700,
        )
        for name, path in (
            ("givers", "/admin/givers"),
            ("jobs", "/admin/jobs"),
            ("job", f"/admin/jobs/{job_id}"),
            ("scrapers", "/admin/scrapers"),
            ("scraper-form", "/admin/scrapers/catalog"),
            ("schedules", "/admin/schedules"),
            ("tokens", "/admin/tokens"),
        ):
            await shoot(browser, url + path, out, name, LAPTOP)
        for name, path in (("phone-overview", "/admin/"), ("phone-job", f"/admin/jobs/{job_id}")):
            await shoot(browser, url + path, out, name, PHONE)
        await chromium.close()


async def sign_in(browser: BrowserContext, url: str) -> None:
    """Sign the browser in with the operator token; its pages share the session."""
    page = await browser.new_page()
    await page.goto(f"{url}/admin/login")
    await page.get_by_label("Password or operator token").fill(OPERATOR_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{url}/admin/")
    await page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out.resolve()
    with tempfile.TemporaryDirectory() as work, contextlib.chdir(work):
        asyncio.run(screenshots(out, Path(work)))


if __name__ == "__main__":
    main()
