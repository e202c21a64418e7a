"""The README reads in order: what an example needs is started before the
example uses it."""

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
