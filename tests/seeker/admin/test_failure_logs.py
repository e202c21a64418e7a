"""A failed key's log beside its failure on the job's page, in a real headless
Chromium against a real Seeker whose real Giver ran a failing scraper: shown
as text (never as markup), open when short, folded when long."""

import pytest
from playwright.async_api import Browser, expect
from support.api import Grid, submit_and_wait
from support.browser import Problems, open_page

from seeker.admin.job_detail import LOG_OPEN_LINES, LOG_SHOWN_CHARS, ShownLog

MARKUP = "<b>not bold</b>"


async def test_a_failures_log_is_shown_beside_it_as_text(
    grid: Grid, browser: Browser, hostile_image: str
) -> None:
    seeker = await grid(givers=1)
    # An unknown mode: the scraper says it, then exits 1 saying it does not know it.
    job = await submit_and_wait(
        seeker,
        {"image": hostile_image, "keys": ["a"], "settings": {"mode": MARKUP}, "max_attempts": 1},
    )
    assert job["keys"]["failed"] == 1
    problems = Problems()
    page = await open_page(browser, seeker, problems)
    await page.goto(f"{seeker.url}/admin/jobs/{job['job_id']}")
    failures = page.locator("section[aria-labelledby=failures-h]")
    log = failures.get_by_label("Log")
    await expect(log).to_be_visible()
    await expect(log).to_have_text(
        f"hostile: {MARKUP}\nhostile: unknown mode '{MARKUP}'\n", use_inner_text=True
    )
    await expect(failures.locator("b")).to_have_count(0)
    assert problems == []


@pytest.mark.unit
def test_a_long_log_is_folded_and_a_very_long_one_shows_its_end() -> None:
    short = ShownLog.of("one\ntwo\n")
    assert (short.text, short.cut_chars, short.lines, short.folded) == ("one\ntwo\n", 0, 2, False)
    assert ShownLog.of("line\n" * (LOG_OPEN_LINES + 1)).folded
    long = ShownLog.of("x" * 100 + "y" * LOG_SHOWN_CHARS)
    assert (long.text, long.cut_chars, long.folded) == ("y" * LOG_SHOWN_CHARS, 100, True)
