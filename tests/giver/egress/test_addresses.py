"""Which hosts and addresses the gateway lets scrapers reach: every range it
refuses, with its reason, and the volunteer's lists. Pure logic: nothing here
resolves a name or connects anywhere."""

import ipaddress
from pathlib import Path

import pytest

from giver.egress.addresses import AddressRules, LocalAllowance
from giver.errors import ConfigError
from giver.terms.config import GiverConfig

pytestmark = pytest.mark.unit

ip = ipaddress.ip_address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("0.1.2.3", "an address of 'this network' (0.0.0.0/8)"),
        ("10.20.30.40", "a private address (10.0.0.0/8)"),
        ("100.64.0.1", "a carrier-grade NAT address (100.64.0.0/10)"),
        ("100.127.255.254", "a carrier-grade NAT address (100.64.0.0/10)"),
        ("127.0.0.1", "a loopback address (127.0.0.0/8)"),
        ("127.255.0.9", "a loopback address (127.0.0.0/8)"),
        ("169.254.169.254", "a cloud metadata address"),
        ("169.254.1.1", "a link-local address (169.254.0.0/16)"),
        ("172.17.0.1", "a private address (172.16.0.0/12)"),
        ("192.168.1.1", "a private address (192.168.0.0/16)"),
        ("224.0.0.251", "a multicast address (224.0.0.0/4)"),
        ("255.255.255.255", "a reserved or broadcast address (240.0.0.0/4)"),
        ("::", "the unspecified IPv6 address (::)"),
        ("::1", "the IPv6 loopback address (::1)"),
        ("fc00::1", "a unique-local (private) IPv6 address (fc00::/7)"),
        ("fd12:3456::1", "a unique-local (private) IPv6 address (fc00::/7)"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("fe80::1", "a link-local IPv6 address (fe80::/10)"),
        ("ff02::fb", "a multicast IPv6 address (ff00::/8)"),
        ("::ffff:127.0.0.1", "an IPv4-mapped IPv6 address (::ffff:0:0/96)"),
        ("::ffff:93.184.216.34", "an IPv4-mapped IPv6 address (::ffff:0:0/96)"),
        ("64:ff9b::a00:1", "a NAT64 address (64:ff9b::/96)"),
        ("2002:a00:1::1", "a 6to4 address (2002::/16)"),
    ],
)
def test_every_local_range_is_refused_with_its_name(address: str, kind: str) -> None:
    rules = AddressRules()
    assert rules.refusal(address, 443, [ip(address)]) == (
        f"{address} is {kind}, which scrapers may not reach"
    )
    assert rules.refusal("shop.example", 443, [ip(address)]) == (
        f"shop.example resolves to {kind}, which scrapers may not reach"
    )


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:2800:220:1::1"])
def test_public_addresses_pass(address: str) -> None:
    assert AddressRules().refusal("site.example", 80, [ip(address)]) is None


def test_a_name_with_one_local_address_among_public_ones_is_refused_whole() -> None:
    answer = [ip("93.184.216.34"), ip("10.0.0.5")]
    assert AddressRules().refusal("rebind.example", 80, answer) == (
        "rebind.example resolves to a private address (10.0.0.0/8), which scrapers may not reach"
    )
    assert AddressRules().refusal("empty.example", 80, []) == "empty.example has no address"


def test_allow_local_lifts_exactly_what_it_lists() -> None:
    rules = AddressRules.parse((), (), ["127.0.0.1:8080", "192.168.1.0/24", "[::1]:9000"])
    assert rules.address_refusal(ip("127.0.0.1"), 8080) is None
    assert rules.address_refusal(ip("127.0.0.1"), 8081) is not None
    assert rules.address_refusal(ip("127.0.0.2"), 8080) is not None
    assert rules.address_refusal(ip("192.168.1.77"), 22) is None
    assert rules.address_refusal(ip("192.168.2.1"), 22) is not None
    assert rules.address_refusal(ip("::1"), 9000) is None
    assert rules.address_refusal(ip("::1"), 9001) is not None
    assert [str(a) for a in rules.allow_local] == ["127.0.0.1:8080", "192.168.1.0/24", "[::1]:9000"]


def test_denied_hosts_win_and_allowed_hosts_are_the_only_ones() -> None:
    rules = AddressRules.parse(["shop.example", "*.books.example"], ["*.ads.shop.example"], [])
    assert rules.host_refusal("shop.example", 80) is None
    assert rules.host_refusal("SHOP.example.", 80) is None
    assert rules.host_refusal("a.books.example", 80) is None
    assert rules.host_refusal("books.example", 80) == (
        "books.example is not among the volunteer's allow_hosts"
    )
    assert rules.host_refusal("x.ads.shop.example", 80) == (
        "x.ads.shop.example is denied by the volunteer (deny_hosts *.ads.shop.example)"
    )
    assert rules.host_refusal("evilshop.example", 80) is not None
    assert AddressRules.parse([], ["tracker.example"], []).host_refusal("other.example", 80) is None


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("allow_local", "localhost:8080", "'localhost:8080' is not an address or network"),
        ("allow_local", "127.0.0.1:0", "'127.0.0.1:0': the port must be a number from 1 to 65535"),
        ("allow_local", "10.0.0.1/8", "'10.0.0.1/8' is not an address or network"),
        ("allow_hosts", "*.*.example", "'*.*.example' is not a host name or *.domain pattern"),
        ("deny_hosts", "http://x.example", "'http://x.example' is not a host name"),
    ],
)
def test_a_bad_rule_stops_the_giver_naming_the_setting(
    setting: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        GiverConfig("http://seeker:8765", data_dir=Path("d"), **{setting: (value,)})
    assert setting in str(raised.value)
    assert message in str(raised.value)


def test_a_local_allowance_reads_back_as_written() -> None:
    assert str(LocalAllowance.parse(" 10.1.2.3 ")) == "10.1.2.3"
    assert str(LocalAllowance.parse("fd00::/8")) == "fd00::/8"


def test_the_rules_are_stated_in_a_few_words() -> None:
    assert AddressRules().stated() == (
        "any public host on port 80, 443; local addresses allowed: none"
    )
    rules = AddressRules.parse(["*.shop.example"], ["ads.shop.example"], ["127.0.0.1:8080"])
    assert rules.stated() == (
        "only *.shop.example but ads.shop.example on port 80, 443; "
        "local addresses allowed: 127.0.0.1:8080"
    )


def test_only_the_web_ports_are_reached_unless_the_volunteer_lists_others() -> None:
    public = [ip("93.184.216.34")]
    assert AddressRules().refusal("mx.example", 25, public) == (
        "port 25 is not one scrapers may reach (the volunteer's allow_ports: 80, 443)"
    )
    assert AddressRules().refusal("shop.example", 443, public) is None
    assert AddressRules.parse((), (), (), ["8443"]).refusal("shop.example", 8443, public) is None
    assert AddressRules.parse((), (), (), ["8443"]).refusal("shop.example", 443, public)
    # A local site the volunteer lists is reached on its own port.
    listed = AddressRules.parse((), (), ["127.0.0.1:8080", "192.168.1.5"])
    assert listed.refusal("127.0.0.1", 8080, [ip("127.0.0.1")]) is None
    assert listed.refusal("nas.lan", 5000, [ip("192.168.1.5")]) is None


def test_a_denied_address_is_denied_however_it_is_written_or_reached() -> None:
    rules = AddressRules.parse((), ["93.184.216.34", "2606:2800:0220:0001::1"], ())
    # A name's refusal does not tell the scraper which address was denied.
    denied = "resolves to an address the volunteer denies (deny_hosts)"
    assert rules.refusal("decoy.example", 80, [ip("93.184.216.34")]) == f"decoy.example {denied}"
    assert rules.refusal("1572395042", 80, [ip("93.184.216.34")]) == f"1572395042 {denied}"
    assert rules.refusal("93.184.216.34", 80, [ip("93.184.216.34")]) == (
        "93.184.216.34 is denied by the volunteer (deny_hosts 93.184.216.34)"
    )
    assert rules.deny_hosts[1] == "2606:2800:220:1::1"


def test_a_listed_local_site_needs_no_place_in_allow_hosts_and_keeps_its_port() -> None:
    rules = AddressRules.parse(["shop.example"], (), ["127.0.0.1:8080"])
    assert rules.host_refusal("127.0.0.1", 8080) is None
    assert rules.host_refusal("127.0.0.1", 8081) == (
        "127.0.0.1 is not among the volunteer's allow_hosts"
    )
    assert AddressRules.parse((), (), ["127.0.0.1:8080"]).refusal(
        "127.0.0.1", 8081, [ip("127.0.0.1")]
    ) == (
        "127.0.0.1 is a loopback address (127.0.0.0/8), which scrapers may reach on its "
        "listed port only"
    )
