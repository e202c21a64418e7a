"""This machine's own addresses and networks, as the kernel's route tables
give them: read from files of the test's own, and this machine's loopback."""

import ipaddress
from pathlib import Path

import pytest

from giver.egress.addresses import AddressRules
from giver.egress.local import Neighbourhood, on_link, own

pytestmark = pytest.mark.unit

ROUTE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wg0\t00000A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t00000071\t0101A8C0\t0003\t0\t0\t0\t000000FF\t0\t0\t0
"""
ZERO = "0" * 32
ROUTER = "2a021234000100000000000000000001"
IPV6_ROUTE = f"""\
2a021234000100000000000000000000 40 {ZERO} 00 {ZERO} 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 {ZERO} 00 {ROUTER} 00000400 00000003 00000000 00000003     eth0
2a021234000200000000000000000000 30 {ZERO} 00 {ROUTER} 00000400 00000003 00000000 00000003     eth0
00000000000000000000000000000001 80 {ZERO} 00 {ZERO} 00000000 00000002 00000000 80200001       lo
ff000000000000000000000000000000 08 {ZERO} 00 {ZERO} 00000100 00000003 00000000 00000001     eth0
"""


@pytest.fixture
def proc_net(tmp_path: Path) -> Path:
    (tmp_path / "route").write_text(ROUTE)
    (tmp_path / "ipv6_route").write_text(IPV6_ROUTE)
    return tmp_path


def test_the_networks_reached_without_a_router_are_local(proc_net: Path) -> None:
    """The home LAN and a VPN's network, on IPv4 and on a global IPv6 prefix; not
    the default routes, routes through a router, loopback or multicast."""
    assert [str(n) for n in on_link(proc_net)] == [
        "192.168.1.0/24",
        "10.10.0.0/16",
        "2a02:1234:1::/64",
    ]


def test_a_home_lan_on_global_ipv6_is_refused_though_no_range_marks_it(proc_net: Path) -> None:
    neighbourhood = Neighbourhood(proc_net)
    nas = ipaddress.ip_address("2a02:1234:1::5")
    assert AddressRules().refusal("nas.example", 80, [nas], neighbourhood.kind) == (
        "nas.example resolves to an address on a network this machine is on, "
        "which scrapers may not reach"
    )
    assert neighbourhood.kind(ipaddress.ip_address("2a02:1234:2::5")) is None
    lan = AddressRules.parse((), (), ["2a02:1234:1::5"])
    assert lan.refusal("nas.example", 80, [nas], neighbourhood.kind) is None


def test_this_machines_own_address_is_its_own() -> None:
    assert own(ipaddress.ip_address("127.0.0.1"))
    assert Neighbourhood(Path("/nonexistent")).kind(ipaddress.ip_address("127.0.0.1")) == (
        "an address of this machine"
    )
