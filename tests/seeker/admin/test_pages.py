"""The admin pages in a real headless Chromium, against a real Seeker whose real
Givers run the real catalog scraper in containers over the demo shop: submit a
job through its generated form (refused first with a field error), watch its
progress bar reach 100% over server-sent events without a reload, download
its records, pause, resume, cancel and delete jobs, approve and revoke a Giver, issue
and revoke an admission token; every page without console errors and without
horizontal overflow at a phone's width."""

import asyncio
import csv
import io
import re
from pathlib import Path
from typing import Any

import aiohttp
from demo_products import product
from playwright.async_api import Browser, Page, expect
from support import egress
from support.api import Grid, disputed_job, submit_and_wait
from support.base import JOB_TIMEOUT_S, OPERATOR_HEADERS, POLL_S, until
from support.browser import LAPTOP, Problems, open_page

from channel.wire import canonical
from giver.daemon import Giver
from giver.terms.config import GiverConfig
from seeker.daemon import Seeker
from seeker.views import display

PHONE = {"width": 390, "height": 844}
WAIT_MS = JOB_TIMEOUT_S * 1000
PAGES = ["/admin/", "/admin/givers", "/admin/jobs", "/admin/scrapers", "/admin/schedules"]


async def api(seeker: Seeker, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        data = None if body is None else canonical.dumps(body)
        async with http.request(method, f"{seeker.url}/api/v1{path}", data=data) as response:
            return response.status, await response.json()


async def fill_job_form(page: Page, demo_site_url: str, *, name: str, last: int) -> None:
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("First key").fill("1")
    await page.get_by_label("Last key").fill(str(last))
    await page.get_by_label("Block size").fill("5")
    await page.get_by_label("Network").select_option("bridge")
    await page.get_by_label("Base URL").fill(demo_site_url)


async def read_download(page: Page, link: str) -> bytes:
    async with page.expect_download() as info:
        await page.get_by_role("link", name=link, exact=True).click()
    download = await info.value
    assert await download.failure() is None
    return await asyncio.to_thread(Path(await download.path()).read_bytes)


async def test_a_job_from_the_generated_form_runs_to_100_percent_live_and_downloads(
    grid: Grid, browser: Browser, catalog_image: str, demo_site_url: str
) -> None:
    seeker = await grid(allow_local=(egress.site(demo_site_url),))
    assert (await api(seeker, "POST", "/scrapers", {"image": catalog_image}))[0] == 201
    problems = Problems()
    page = await open_page(browser, seeker, problems)
    await page.goto(f"{seeker.url}/admin/scrapers")
    await page.get_by_role("link", name="New job").click()
    await expect(page.get_by_role("heading", name="New job of catalog")).to_be_visible()
    await fill_job_form(page, demo_site_url, name="shop", last=10)
    form_url = page.url

    # The browser refuses a timeout of 0 (the schema wants it above 0) next to its field.
    await page.get_by_label("Timeout (seconds)", exact=True).fill("0")
    await page.get_by_role("button", name="Submit job").click()
    error = page.locator('[data-error-for="settings.timeout_s"]')
    await expect(error).to_have_text("Must be above 0.")
    await expect(page.get_by_label("Timeout (seconds)", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    assert page.url == form_url
    assert (await api(seeker, "GET", "/jobs"))[1] == {"jobs": [], "next": None}

    await page.get_by_label("Timeout (seconds)", exact=True).fill("5")
    await expect(error).to_be_hidden()
    await page.get_by_role("button", name="Submit job").click()
    await page.wait_for_url(re.compile(r"/admin/jobs/j[0-9a-f]+$"))
    await expect(page.get_by_role("status").filter(has_text="submitted")).to_have_text(
        "Job shop submitted: 10 keys in 2 blocks."
    )
    job_id = page.url.rsplit("/", 1)[1]

    # The same document sees the job through to 100%, told by the event stream.
    await page.evaluate("window.__marker = 1")
    bar = page.get_by_role("progressbar", name="Progress of this job")
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=WAIT_MS)
    assert await page.evaluate("window.__marker") == 1
    assert int(await page.evaluate("document.body.dataset.snapshots")) > 1
    await expect(page.locator(".job-detail h1 [data-k=status]")).to_have_text("done")
    await expect(bar).to_have_attribute("aria-valuetext", "10 of 10 keys done (100%)")
    await expect(page.locator(".job-detail [data-k=percent]")).to_have_text("100%")

    records = [
        canonical.loads(line) for line in (await read_download(page, "JSON lines")).splitlines()
    ]
    assert sorted(int(r["key"]) for r in records) == list(range(1, 11))
    assert {r["data"]["sku"] for r in records} == {product(n)["sku"] for n in range(1, 11)}
    rows = list(csv.reader(io.StringIO((await read_download(page, "CSV")).decode())))
    sku = rows[0].index("sku")
    assert rows[0][0] == "key" and len(rows) == 11
    assert {int(row[0]): row[sku] for row in rows[1:]} == {
        n: product(n)["sku"] for n in range(1, 11)
    }
    status, job = await api(seeker, "GET", f"/jobs/{job_id}")
    assert (status, job["status"], job["spec"]["settings"]["timeout_s"]) == (200, "done", 5)

    # Its blocks, a page of one at a time, with the Givers that ran them.
    await page.goto(f"{seeker.url}/admin/jobs/{job_id}?limit=1")
    blocks = page.locator("[data-blocks-body] tr")
    await expect(blocks).to_have_count(1)
    await page.get_by_role("link", name="More blocks").click()
    await expect(blocks).to_have_count(2)
    ran_on = await page.locator("[data-blocks-body] [data-k=ran-on]").all_inner_texts()
    for seq, text in enumerate(ran_on):
        [run] = (await api(seeker, "GET", f"/jobs/{job_id}/blocks/{seq}"))[1]["runs"]
        assert text.startswith(f"{run['giver_name']} chosen"), text
    await expect(page.locator("[data-block-seq='1'] [data-k=block-state]")).to_have_text("done")

    # Its records, four to a page.
    await page.goto(f"{seeker.url}/admin/jobs/{job_id}?limit=4")
    shown: list[int] = []
    for size in (4, 4, 2):
        rows_shown = page.locator("[data-records-body] tr")
        await expect(rows_shown).to_have_count(size)
        shown += [int(key) for key in await rows_shown.locator("td:first-child").all_inner_texts()]
        if size == 4:
            await page.get_by_role("link", name="Next page").click()
    assert sorted(shown) == list(range(1, 11))
    await expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    header = await page.locator(".records-table th").all_inner_texts()
    assert [h.lower() for h in header[:3]] == ["key", "giver", "currency"]
    assert problems == []


async def test_jobs_are_paused_resumed_and_cancelled_from_the_pages(
    grid: Grid, browser: Browser, catalog_image: str, demo_site_url: str
) -> None:
    seeker = await grid(allow_local=(egress.site(demo_site_url),))
    assert (await api(seeker, "POST", "/scrapers", {"image": catalog_image}))[0] == 201
    body = {
        "scraper": "catalog",
        "range": [1, 1001],
        "block_size": 5,
        "network": "bridge",
        "settings": {"base_url": demo_site_url},
    }
    status, job = await api(seeker, "POST", "/jobs", {**body, "name": "long"})
    assert status == 201, job
    problems = Problems()
    page = await open_page(browser, seeker, problems)

    # On the job's page the buttons act in place (fetch with the CSRF header).
    await page.goto(f"{seeker.url}/admin/jobs/{job['job_id']}")
    await page.evaluate("window.__marker = 1")
    await page.get_by_role("button", name="Pause").click()
    await expect(page.get_by_role("status").filter(has_text="paused")).to_have_text(
        "Job long paused."
    )
    badge = page.locator(".job-detail h1 [data-k=status]")
    await expect(badge).to_have_text("paused")
    await expect(page.get_by_role("button", name="Resume")).to_be_visible()
    await expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    assert (await api(seeker, "GET", f"/jobs/{job['job_id']}"))[1]["status"] == "paused"

    await page.get_by_role("button", name="Resume").click()
    await expect(badge).to_have_text("running")
    await page.get_by_role("button", name="Cancel").click()
    await expect(badge).to_have_text("cancelled")
    await expect(page.get_by_role("button", name="Resume")).to_be_hidden()
    assert await page.evaluate("window.__marker") == 1
    assert (await api(seeker, "GET", f"/jobs/{job['job_id']}"))[1]["status"] == "cancelled"

    # On the jobs page they are plain form posts: a redirect back with a message. A job
    # submitted meanwhile shows up as a new row.
    await page.goto(f"{seeker.url}/admin/jobs")
    status, other = await api(seeker, "POST", "/jobs", {**body, "name": "another"})
    assert status == 201, other
    row = page.locator(f"tr[data-job-id='{other['job_id']}']")
    await expect(row.locator("[data-k=name]")).to_have_text("another")
    await expect(row.get_by_role("button", name="Delete")).to_be_hidden()
    await row.get_by_role("button", name="Cancel").click()
    await page.wait_for_url(f"{seeker.url}/admin/jobs")
    await expect(page.get_by_role("status").filter(has_text="cancelled")).to_have_text(
        "Job another cancelled."
    )
    await expect(row.locator("[data-k=status]")).to_have_text("cancelled")
    assert (await api(seeker, "GET", f"/jobs/{other['job_id']}"))[1]["status"] == "cancelled"

    # A cancelled job is deleted from its page once the operator confirms.
    await expect(row.get_by_role("button", name="Delete")).to_be_visible()
    confirmations: list[str] = []
    page.on("dialog", lambda dialog: confirmations.append(dialog.message))
    await page.goto(f"{seeker.url}/admin/jobs/{job['job_id']}")
    await page.get_by_role("button", name="Delete").click()
    await page.wait_for_url(f"{seeker.url}/admin/jobs")
    await expect(page.get_by_role("status").filter(has_text="deleted")).to_have_text(
        "Job long deleted."
    )
    assert confirmations == [
        "Delete this job? Its blocks go, and its results in the Channel unless its "
        "retention keeps them. This cannot be undone."
    ]
    await expect(page.locator(f"tr[data-job-id='{job['job_id']}']")).to_have_count(0)
    await expect(page.locator(f"tr[data-job-id='{other['job_id']}']")).to_have_count(1)
    assert (await api(seeker, "GET", f"/jobs/{job['job_id']}"))[0] == 404
    assert problems == []


async def test_a_pending_giver_is_approved_and_revoked_and_a_token_issued(
    grid: Grid, browser: Browser, tmp_path: Path
) -> None:
    seeker = await grid(givers=1)
    newcomer = Giver(
        GiverConfig(
            seeker_url=seeker.url,
            data_dir=tmp_path / "newcomer",
            name="newcomer",
            slots=1,
            reconnect_max_s=0.2,
        )
    )
    starting = asyncio.create_task(newcomer.start())
    try:
        problems = Problems()
        page = await open_page(browser, seeker, problems)
        await page.goto(f"{seeker.url}/admin/givers")
        pending = page.locator("#pending tbody tr").filter(has_text="newcomer")
        async with asyncio.timeout(JOB_TIMEOUT_S):
            while not await pending.count():
                await page.reload()
        await pending.get_by_role("button", name="Approve").click()
        await expect(page.get_by_role("status").filter(has_text="admitted")).to_have_text(
            "Giver newcomer is admitted; it gets work once it connects."
        )
        async with asyncio.timeout(JOB_TIMEOUT_S):
            await starting
        await page.reload()
        row = page.locator(f"tr[data-giver-id='{newcomer.id}']")
        await expect(row.locator("[data-k=online]")).to_have_text("online")
        await row.get_by_role("button", name="Revoke").click()
        await expect(page.get_by_role("status").filter(has_text="revoked")).to_contain_text(
            f"Giver {newcomer.id} revoked"
        )
        await expect(row).to_have_count(0)
        listed = (await api(seeker, "GET", "/givers"))[1]
        assert newcomer.id not in [g["giver_id"] for g in listed["givers"]]

        await page.goto(f"{seeker.url}/admin/tokens")
        await page.get_by_label("Label").fill("Ana's laptop")
        await page.get_by_label("Uses").fill("1")
        await page.get_by_role("button", name="Issue token").click()
        token = await page.get_by_label("The new token").input_value()
        assert re.fullmatch(r"sgt_[0-9a-f]{8}_[\w-]+", token)
        await page.get_by_role("button", name="Copy").click()
        await expect(page.locator("[data-copy-state]")).not_to_be_empty()
        token_id = token.split("_")[1]
        row = page.locator(f"tr[data-token-id='{token_id}']")
        await expect(row).to_contain_text("Ana's laptop")
        await expect(row.locator("[data-k=status]")).to_have_text("valid")
        await row.get_by_role("button", name="Revoke").click()
        await expect(row.locator("[data-k=status]")).to_have_text("revoked")
        [listed_token] = [
            t
            for t in (await api(seeker, "GET", "/tokens"))[1]["tokens"]
            if t["token_id"] == token_id
        ]
        assert (listed_token["label"], listed_token["state"]) == ("Ana's laptop", "revoked")
        assert problems == []
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await newcomer.stop()


async def test_disagreements_invalidation_health_and_a_new_schedule_on_the_pages(
    grid: Grid, browser: Browser, faulty_image: str
) -> None:
    seeker = await grid()
    disputed = await submit_and_wait(seeker, disputed_job(faulty_image, name="odd"))
    steady = await submit_and_wait(
        seeker,
        disputed_job(faulty_image, name="steady", settings={"mode": "ok"}, replicas=1, quorum=1),
    )
    problems = Problems()
    page = await open_page(browser, seeker, problems)

    # Copies that differ: each block with both Givers, their digests and why none counted.
    await page.goto(f"{seeker.url}/admin/jobs/{disputed['job_id']}")
    disputes = page.locator("[data-disputes-body] tr")
    await expect(disputes).to_have_count(2)
    for seq in (0, 1):
        row = page.locator(f"[data-disputes-body] tr[data-block-seq='{seq}']")
        await expect(row.locator("[data-k=copy]").filter(has_text="giver-0")).to_have_count(1)
        await expect(row.locator("[data-k=copy]").filter(has_text="giver-1")).to_have_count(1)
        await expect(row.locator(".reason")).to_contain_text("copies disagree (2 different results")
        await expect(row.locator(".badge")).to_have_text("failed")

    # A finished block invalidated from its page runs again, on the other Giver.
    job_id = steady["job_id"]
    [before] = (await api(seeker, "GET", f"/jobs/{job_id}/blocks/0"))[1]["runs"]
    await page.goto(f"{seeker.url}/admin/jobs/{job_id}")
    await (
        page.locator("[data-blocks-body] tr[data-block-seq='0']")
        .get_by_role("button", name="Invalidate")
        .click()
    )
    await expect(page.get_by_role("status").filter(has_text="back in the pool")).to_have_text(
        "Block 0 is back in the pool; its keys run again."
    )

    async def block() -> dict[str, Any]:
        return (await api(seeker, "GET", f"/jobs/{job_id}/blocks/0"))[1]

    again = await until(block, holds=lambda b: b["state"] == "done" and bool(b["runs"]))
    [after] = again["runs"]
    assert after["giver_id"] != before["giver_id"] and again["shunned"] == [before["giver_id"]]
    await page.reload()
    await expect(
        page.locator("[data-blocks-body] tr[data-block-seq='0'] [data-k=ran-on]")
    ).to_contain_text(after["giver_name"])

    # The Health panel checks every service once the overview has shown.
    await page.goto(f"{seeker.url}/admin/")
    engines = page.locator("[data-health] tr[data-check-kind=docker_engine]")
    await expect(engines).to_have_count(3)
    for name in ("giver-0", "giver-1"):
        await expect(engines.filter(has_text=name).locator("[data-k=check]")).to_have_text("ok")
    await page.get_by_role("button", name="Check now").click()
    await expect(engines).to_have_count(3)

    # A schedule added from its page is in the list.
    await page.goto(f"{seeker.url}/admin/schedules")
    await page.get_by_label("Name").fill("hourly")
    await page.get_by_label("Every (minutes)").fill("60")
    await page.get_by_label("If the last job still runs").select_option("allow")
    await page.get_by_label("Job (JSON)").fill(canonical.dumps(disputed_job(faulty_image)).decode())
    await page.get_by_role("button", name="Add schedule").click()
    await expect(page.get_by_role("status").filter(has_text="added")).to_contain_text(
        "Schedule hourly added"
    )
    row = page.get_by_role("row").filter(has_text="hourly")
    await expect(row).to_contain_text("every 1 h")
    await expect(row).to_contain_text("run another")
    # A bad value in the part the cron choice hides neither blocks nor goes.
    await page.get_by_label("Name").fill("nightly")
    await page.get_by_label("Every (minutes)").fill("0")
    await page.get_by_label("A cron expression").check()
    await page.get_by_role("textbox", name="Cron expression").fill("0 3 * * *")
    await page.get_by_label("Job (JSON)").fill(canonical.dumps(disputed_job(faulty_image)).decode())
    await page.get_by_role("button", name="Add schedule").click()
    await expect(page.get_by_role("row").filter(has_text="nightly")).to_contain_text("0 3 * * *")
    assert problems == []


async def wait_done(seeker: Seeker, job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while (job := (await api(seeker, "GET", f"/jobs/{job_id}"))[1])["status"] != "done":  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
    return job


UNLABELLED = """[...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && !el.labels.length && !el.getAttribute('aria-label'))
  .map(el => el.name)"""
FORMATS = [
    ("count", (1234567,)),
    ("count", (0,)),
    ("rate", (3.24,)),
    ("rate", (0,)),
    ("rate", (1234.5,)),
    ("rate", (None,)),
    ("duration", (0.2,)),
    ("duration", (45,)),
    ("duration", (250,)),
    ("duration", (7505,)),
    ("duration", (270000,)),
    ("duration", (None,)),
    ("ago", (88, 100)),
    ("ago", (99.6, 100)),
    ("ago", (7300, 100)),
    ("ago", (None, 100)),
    ("stamp", (1738332309,)),
    ("percent", (19, 20)),
    ("percent", (0, 0)),
]
PYTHON_FORMATS = {
    "count": display.count,
    "rate": display.rate,
    "duration": display.duration,
    "ago": display.ago,
    "stamp": display.stamp_utc,
    "percent": display.percent,
}


async def test_every_page_reads_cleanly_on_a_laptop_and_a_phone(
    grid: Grid, browser: Browser, catalog_image: str, demo_site_url: str
) -> None:
    seeker = await grid(givers=1, allow_local=(egress.site(demo_site_url),))
    assert (await api(seeker, "POST", "/scrapers", {"image": catalog_image}))[0] == 201
    body = {
        "scraper": "catalog",
        "range": [1, 6],
        "network": "bridge",
        "settings": {"base_url": demo_site_url},
    }
    status, job = await api(seeker, "POST", "/jobs", {**body, "name": "small"})
    assert status == 201, job
    status, schedule = await api(
        seeker, "POST", "/schedules", {"name": "nightly", "every_s": 86400, "job": body}
    )
    assert status == 201, schedule
    assert (await api(seeker, "POST", "/tokens", {"label": "lab"}))[0] == 201
    await wait_done(seeker, job["job_id"])
    pages = [
        *PAGES,
        "/admin/tokens",
        f"/admin/jobs/{job['job_id']}",
        f"/admin/jobs/{job['job_id']}?limit=2&results_after=1",
        "/admin/health",
        "/admin/scrapers/catalog",
        f"/admin/schedules/{schedule['schedule_id']}",
        "/admin/login",
    ]
    problems = Problems()
    for viewport in (LAPTOP, PHONE):
        page = await open_page(browser, seeker, problems, viewport)
        for path in pages:
            response = await page.goto(f"{seeker.url}{path}")
            assert response is not None and response.status == 200, path
            await expect(page.locator("h1")).to_have_count(1)
            await expect(page.get_by_role("main")).to_have_count(1)
            assert await page.evaluate(UNLABELLED) == [], path
            width = await page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], (path, viewport, width)
        await page.close()
    assert problems == []
    page = await open_page(browser, seeker, Problems(), PHONE)
    response = await page.goto(f"{seeker.url}/admin/jobs/jnothere")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("main")).to_contain_text("no job 'jnothere'")

    # The page's script formats numbers by the same rules as seeker.views.display.
    for name, args in FORMATS:
        shown = await page.evaluate(f"SeekAdmin.fmt.{name}(...{canonical.dumps(args).decode()})")
        assert shown == PYTHON_FORMATS[name](*args), (name, args)
