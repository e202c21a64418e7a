"""When the Giver reports its Capabilities again: only what the Seeker has not heard,
and nothing lost while no session is open (a stand-in probe and session)."""

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator

import pytest

from channel.wire.givers import Capabilities
from channel.wire.messages import Message, Report
from giver.errors import DockerError
from giver.link.reporter import Reporter

pytestmark = pytest.mark.unit

WAIT_S = 10.0
LONG_INTERVAL_S = 3600.0
SHORT_INTERVAL_S = 0.05

REGISTERED = Capabilities(
    cpus=4,
    memory_bytes=8 * 2**30,
    arch="amd64",
    os="linux",
    docker_version="24.0.7",
    slots=2,
    images=("seekgive/catalog:1", "sha256:aa"),
    labels={"region": "eu"},
)
PULLED = dataclasses.replace(REGISTERED, images=(*REGISTERED.images, "seekgive/new:1"))


class Machine:
    """What the machine offers now, whether a session is open, and what was sent on it."""

    def __init__(self) -> None:
        self.offers = REGISTERED
        self.session_open = True
        self.failures: list[Exception] = []
        self.sent: list[Message] = []
        self._sent_one = asyncio.Event()

    async def probe(self) -> Capabilities:
        if self.failures:
            raise self.failures.pop(0)
        return self.offers

    def send(self, message: Message) -> bool:
        if not self.session_open:
            return False
        self.sent.append(message)
        self._sent_one.set()
        return True

    async def next_sent(self) -> Message:
        """The next message sent from now on."""
        count = len(self.sent)
        async with asyncio.timeout(WAIT_S):
            while len(self.sent) == count:
                self._sent_one.clear()
                await self._sent_one.wait()
        return self.sent[count]


@pytest.fixture
def machine() -> Machine:
    return Machine()


@pytest.fixture
def reporter(machine: Machine) -> Reporter:
    """A Reporter whose registration carried REGISTERED; not started."""
    reporter = Reporter(machine.probe, machine.send, interval_s=LONG_INTERVAL_S)
    reporter.registered(REGISTERED)
    return reporter


@pytest.fixture
async def started(machine: Machine) -> AsyncIterator[Reporter]:
    """A started Reporter probing every SHORT_INTERVAL_S; stopped at the end."""
    reporter = Reporter(machine.probe, machine.send, interval_s=SHORT_INTERVAL_S)
    reporter.registered(REGISTERED)
    reporter.start()
    yield reporter
    await reporter.stop()


async def test_nothing_is_reported_while_nothing_changed(
    reporter: Reporter, machine: Machine
) -> None:
    assert await reporter.refresh() is False
    assert machine.sent == []


async def test_a_change_is_reported_once(reporter: Reporter, machine: Machine) -> None:
    machine.offers = PULLED
    assert await reporter.refresh() is True
    assert await reporter.refresh() is False
    machine.offers = REGISTERED
    assert await reporter.refresh() is True
    assert machine.sent == [Report(PULLED), Report(REGISTERED)]


async def test_every_field_counts_as_a_change(reporter: Reporter, machine: Machine) -> None:
    for change in ({"cpus": 2}, {"memory_bytes": 2**30}, {"labels": {"region": "us"}}):
        machine.offers = dataclasses.replace(REGISTERED, **change)
        assert await reporter.refresh() is True
    assert len(machine.sent) == 3


async def test_without_a_session_the_change_goes_out_once_one_opens(
    reporter: Reporter, machine: Machine
) -> None:
    machine.session_open = False
    machine.offers = PULLED
    assert await reporter.refresh() is False
    machine.session_open = True
    assert await reporter.refresh() is True
    assert machine.sent == [Report(PULLED)]


async def test_a_new_session_repeats_what_only_the_last_one_may_have_carried(
    reporter: Reporter, machine: Machine
) -> None:
    machine.offers = PULLED
    assert await reporter.refresh() is True
    reporter.session_opened()
    assert await reporter.refresh() is True
    assert machine.sent == [Report(PULLED), Report(PULLED)]


async def test_a_new_session_says_nothing_if_the_registration_is_current(
    reporter: Reporter, machine: Machine
) -> None:
    reporter.session_opened()
    assert await reporter.refresh() is False
    assert machine.sent == []


async def test_a_registration_is_what_the_seeker_heard(
    reporter: Reporter, machine: Machine
) -> None:
    machine.offers = PULLED
    reporter.registered(PULLED)
    reporter.session_opened()
    assert await reporter.refresh() is False
    assert machine.sent == []


async def test_refresh_soon_probes_before_the_interval_ends(
    reporter: Reporter, machine: Machine
) -> None:
    reporter.start()
    try:
        machine.offers = PULLED
        reporter.refresh_soon()
        assert await machine.next_sent() == Report(PULLED)
    finally:
        await reporter.stop()


async def test_the_interval_probes_again(started: Reporter, machine: Machine) -> None:
    machine.offers = PULLED
    assert await machine.next_sent() == Report(PULLED)


async def test_a_failing_probe_warns_once_and_is_tried_again(
    started: Reporter, machine: Machine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="giver.link.reporter")
    machine.failures = [DockerError("docker: down"), DockerError("docker: down")]
    machine.offers = PULLED
    assert await machine.next_sent() == Report(PULLED)
    failures = [r for r in caplog.records if "cannot probe" in r.getMessage()]
    assert [r.levelno for r in failures] == [logging.WARNING, logging.DEBUG]
    assert "probing this machine works again" in caplog.messages


async def test_stop_ends_the_periodic_probe_and_is_safe_twice(machine: Machine) -> None:
    reporter = Reporter(machine.probe, machine.send, interval_s=SHORT_INTERVAL_S)
    reporter.start()
    await reporter.stop()
    await reporter.stop()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "giver-reporter"]
