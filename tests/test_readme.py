"""The README's examples work as written: what an example needs is started,
and allowed, before the example uses it."""

import pytest
from support.base import REPO

pytestmark = pytest.mark.unit

SHOP = "http://127.0.0.1:8080"


def test_the_demo_shop_is_started_before_an_example_scrapes_it() -> None:
    text = (REPO / "README.md").read_text()
    first_use = text.index(f"base_url={SHOP}")
    assert "python scripts/demo_site.py --port 8080 &" in text[:first_use], (
        f"the README's examples scrape the demo shop at {SHOP} before saying how to start it"
    )


def test_the_giver_lets_scrapers_reach_the_demo_shop_without_host_networking() -> None:
    text = (REPO / "README.md").read_text()
    giver = text[text.index("giver run --seeker") :].partition("&")[0]
    assert f"--allow-local {SHOP.removeprefix('http://')}" in giver, (
        f"the README's Giver does not let scrapers reach the demo shop at {SHOP}"
    )
    assert "--network host" not in text
