"""Who a request comes from when a trusted front forwarded it."""

import pytest

from seeker.access.forwarded import client_of, first, networks

pytestmark = pytest.mark.unit

FRONTS = networks(["10.0.0.0/24", "::1"])


def test_an_untrusted_peer_is_the_client_whatever_it_claims() -> None:
    assert client_of("203.0.113.9", ["198.51.100.1"], FRONTS) == "203.0.113.9"


def test_behind_a_trusted_front_the_client_is_the_last_hop_not_trusted() -> None:
    assert client_of("10.0.0.2", ["198.51.100.1"], FRONTS) == "198.51.100.1"
    # A client's own X-Forwarded-For comes first: it is not believed.
    assert client_of("10.0.0.2", ["1.2.3.4, 198.51.100.1", "10.0.0.3"], FRONTS) == ("198.51.100.1")
    assert client_of("::1", ["10.0.0.3"], FRONTS) == "10.0.0.3"
    assert client_of("10.0.0.2", [], FRONTS) == "10.0.0.2"


def test_the_first_item_of_a_listed_header_is_read() -> None:
    assert first(["https, http", "http"]) == "https"
    assert first([]) == ""


def test_a_front_that_is_no_address_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'front\.example' does not appear"):
        networks(["front.example"])
