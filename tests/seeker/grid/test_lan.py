"""LAN mode on 127.0.0.1: a Giver advertised over mDNS, found, dialled and given work.

mDNS here is real (zeroconf bound to 127.0.0.1, where the kernel loops
multicast back); so are the Seeker, the Giver, their sockets and Docker.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from support.base import OPERATOR_HEADERS, OPERATOR_TOKEN, until
from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from channel.errors import WireError
from channel.wire.givers import Capabilities
from channel.wire.identity import Identity, verify_value
from channel.wire.lan import SERVICE_TYPE, Advert, service_name, session_url
from channel.wire.messages import Challenge, Hello, Message, Register, Registered, decode, encode
from giver.daemon import Giver
from giver.link.advertiser import Advertiser
from giver.link.listener import Listener
from giver.link.registration import signed_registration
from giver.link.session import Introduction, Session
from giver.terms.config import GiverConfig
from seeker.cli.client import SeekerClient
from seeker.cli.jobs import wait_for_job
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.views.givers import givers_view

LOOPBACK = "127.0.0.1"
CAPS = Capabilities(
    cpus=1, memory_bytes=2**30, arch="amd64", os="linux", docker_version="20.10", slots=1
)
WAIT_S = 30.0
POLL_S = 0.1


def test_an_advert_reads_back_from_its_txt_record() -> None:
    advert = Advert("g0123456789abcdef", 4321)
    assert Advert.from_txt(advert.txt()) == advert
    assert advert.txt() == {"id": "g0123456789abcdef", "api": "1", "port": "4321"}
    assert session_url("fd00::2", 80) == "ws://[fd00::2]:80/api/v1/session"


@pytest.mark.parametrize(
    ("txt", "message"),
    [
        ({"api": "1", "port": "1"}, "lacks id"),
        ({"id": "g0123456789abcdef", "api": "1", "port": None}, "lacks port"),
        ({"id": "not-a-giver", "api": "1", "port": "1"}, "is not a Giver id"),
        ({"id": "g0123456789abcdef", "api": "1", "port": "70000"}, "is not a port number"),
    ],
)
def test_a_bad_txt_record_is_named(txt: dict[str, str | None], message: str) -> None:
    with pytest.raises(WireError, match=message):
        Advert.from_txt(txt)


@pytest.fixture
async def browser() -> AsyncIterator[asyncio.Queue[tuple[ServiceStateChange, str]]]:
    """What a browser on 127.0.0.1 hears of Givers: (change, name) in order."""
    heard: asyncio.Queue[tuple[ServiceStateChange, str]] = asyncio.Queue()

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        heard.put_nowait((state_change, name))

    async with AsyncZeroconf(interfaces=[LOOPBACK]) as zeroconf:
        browser = AsyncServiceBrowser(zeroconf.zeroconf, [SERVICE_TYPE], handlers=[on_change])
        yield heard
        await browser.async_cancel()


async def next_change(
    heard: asyncio.Queue[tuple[ServiceStateChange, str]], name: str
) -> ServiceStateChange:
    async with asyncio.timeout(WAIT_S):
        while True:
            change, about = await heard.get()
            if about == name:
                return change


async def test_an_advert_is_found_resolved_and_withdrawn(
    browser: asyncio.Queue[tuple[ServiceStateChange, str]],
) -> None:
    advert = Advert(Identity.generate().id, 4321)
    advertiser = Advertiser(advert, interfaces=(LOOPBACK,), check_interval_s=60.0)
    async with advertiser, AsyncZeroconf(interfaces=[LOOPBACK]) as resolver:
        assert advertiser.addresses == (LOOPBACK,)
        name = service_name(advert.giver_id)
        assert await next_change(browser, name) is ServiceStateChange.Added
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        assert await info.async_request(resolver.zeroconf, 3000)
        assert info.parsed_addresses() == [LOOPBACK]
        assert info.port == 4321
        assert Advert.from_txt(info.decoded_properties) == advert
    assert await next_change(browser, name) is ServiceStateChange.Removed


class Lan:
    """Starts things on 127.0.0.1: a discovering Seeker, LAN Givers; all stop at the end."""

    def __init__(self, stack: AsyncExitStack, tmp_path: Path) -> None:
        self._stack = stack
        self._tmp_path = tmp_path

    async def seeker(self) -> Seeker:
        config = SeekerConfig(
            operator_token=OPERATOR_TOKEN,
            port=0,
            data_dir=self._tmp_path / "seeker",
            poll_interval_s=POLL_S,
            discover=True,
            discover_interfaces=(LOOPBACK,),
            discover_reconnect_max_s=1.0,
            open_registration=True,
        )
        return await self.enter(Seeker(config))

    async def giver(self, name: str) -> Giver:
        config = GiverConfig(
            seeker_url="",
            data_dir=self._tmp_path / name,
            name=name,
            slots=1,
            progress_interval_s=0.2,
            lan=True,
            listen=(LOOPBACK, 0),
            mdns_interfaces=(LOOPBACK,),
        )
        return await self.enter(Giver(config))

    async def enter(self, context: Any) -> Any:
        return await self._stack.enter_async_context(context)


@pytest.fixture
async def lan(tmp_path: Path) -> AsyncIterator[Lan]:
    async with AsyncExitStack() as stack:
        yield Lan(stack, tmp_path)


def online(seeker: Seeker) -> set[str]:
    assert seeker.coordinator is not None
    return {g["giver_id"] for g in givers_view(seeker.coordinator)["givers"] if g["online"]}


async def test_a_seeker_finds_a_lan_giver_runs_a_job_on_it_and_drops_it_when_it_stops(
    lan: Lan, faulty_image: str
) -> None:
    seeker = await lan.seeker()
    giver = await lan.giver("lan-giver")
    await until(lambda: giver.id in online(seeker), "the Giver online", timeout_s=WAIT_S)
    assert giver.registration is not None
    assert giver.registration.channel_url == f"{seeker.url}/channel"
    assert giver.registration.seeker_url == seeker.url
    body = {"image": faulty_image, "keys": ["a", "b", "c"], "block_size": 2, "settings": {}}
    async with SeekerClient(seeker.url, token=OPERATOR_TOKEN) as client, asyncio.timeout(WAIT_S):
        job = await wait_for_job(client, (await client.submit(body))["job_id"], echo=False)
    assert job["keys"]["done"] == 3
    await giver.stop()
    assert seeker.discovery is not None
    await until(
        lambda: not seeker.discovery.givers() and giver.id not in online(seeker),
        "the Giver gone",
        timeout_s=WAIT_S,
    )


async def test_a_seeker_refuses_a_giver_advertised_under_another_id(
    lan: Lan, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    seeker = await lan.seeker()
    advertised, actual = Identity.generate(), Identity.generate()

    async def ignore(message: Message) -> None:
        pass

    async def registered(_: object) -> None:
        raise AssertionError("the Seeker must not answer a registration under another id")

    async def introduce() -> Introduction:
        body = signed_registration(actual, name="impostor", volunteer="", capabilities=CAPS)
        return Introduction(body, registered)

    listener = await lan.enter(
        Listener(
            Session(actual, on_message=ignore, on_challenge=lambda challenge: None),
            LOOPBACK,
            0,
            introduce=introduce,
        )
    )
    await lan.enter(
        Advertiser(
            Advert(advertised.id, listener.port), interfaces=(LOOPBACK,), check_interval_s=60.0
        )
    )
    await until(
        lambda: any(
            advertised.id in r.getMessage() and "refused" in r.getMessage() for r in caplog.records
        ),
        "the dial refused",
        timeout_s=WAIT_S,
    )
    assert advertised.id not in online(seeker) and actual.id not in online(seeker)


async def test_a_lan_giver_refuses_a_seeker_naming_no_absolute_channel_url() -> None:
    """The Giver answers the Seeker's dial with Register and Hello, and closes the
    session when the Seeker's Registered names a relative Channel URL."""
    identity = Identity.generate()
    opened: list[Registered] = []

    async def ignore(message: Message) -> None:
        pass

    async def registered(registration: Any) -> None:
        opened.append(registration)

    async def introduce() -> Introduction:
        return Introduction({"giver": {"giver_id": identity.id}, "signature": "s"}, registered)

    listener = Listener(
        Session(identity, on_message=ignore, on_challenge=lambda challenge: None),
        LOOPBACK,
        0,
        introduce=introduce,
    )
    async with listener, aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        async with http.ws_connect(session_url(LOOPBACK, listener.port)) as ws:
            await ws.send_bytes(encode(Challenge("nonce")))
            register = decode((await ws.receive()).data)
            hello = decode((await ws.receive()).data)
            assert register == Register({"giver_id": identity.id}, "s")
            assert isinstance(hello, Hello) and hello.giver_id == identity.id
            signed = Hello.signed_value(identity.id, "nonce")
            assert verify_value(identity.public_key, signed, hello.signature)
            await ws.send_bytes(encode(Registered(identity.id, "/channel")))
            closing = await ws.receive()
    assert closing.type is WSMsgType.CLOSE and closing.data == 4002
    assert opened == []
