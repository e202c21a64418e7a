"""Keeping the Seeker's view of this Giver current.

What a Giver offers changes while it runs: its volunteer pulls or removes an
image, the machine gains memory. The Reporter probes again after every task
and every `interval_s`, and when the Capabilities differ from what the Seeker
last heard (the registration, or the last Report) it sends a Report. While
no session is open nothing is sent and nothing is lost: the Report goes out
once a session opens, and a new registration carries fresh Capabilities.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from channel.wire.givers import Capabilities
from channel.wire.messages import Message, Report
from giver.errors import GiverError

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[Capabilities]]
Send = Callable[[Message], bool]


class Reporter:
    """Re-probes this machine and reports what changed; `start()`, then `stop()`.

    `probe()` returns the current Capabilities; `send(message)` queues a message
    on the open session and returns False when there is none.
    """

    def __init__(self, probe: Probe, send: Send, *, interval_s: float) -> None:
        self._probe = probe
        self._send = send
        self._interval_s = interval_s
        self._registered: Capabilities | None = None
        self._heard: Capabilities | None = None
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def registered(self, capabilities: Capabilities) -> None:
        """The Seeker accepted a registration that carried `capabilities`."""
        self._registered = self._heard = capabilities

    def session_opened(self) -> None:
        """A new session is open: a Report queued on the previous one may never have
        been written, so all the Seeker surely knows is the registration."""
        self._heard = self._registered
        self.refresh_soon()

    def refresh_soon(self) -> None:
        """Probe again now instead of at the end of the interval (e.g. a task ended)."""
        self._wanted.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="giver-reporter")

    async def stop(self) -> None:
        """Cancel the periodic probe and wait until it has ended; safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def refresh(self) -> bool:
        """Probe, and report the Capabilities if the Seeker has not heard them.

        True if a Report was queued. Raises what `probe()` raises.
        """
        capabilities = await self._probe()
        if capabilities == self._heard:
            return False
        if not self._send(Report(capabilities)):
            log.debug("no session: new capabilities go out once one opens")
            return False
        log.info("reported new capabilities to the Seeker: %s", changes(self._heard, capabilities))
        self._heard = capabilities
        return True

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._interval_s):
                    await self._wanted.wait()
            except TimeoutError:
                pass
            self._wanted.clear()
            try:
                await self.refresh()
            except GiverError as e:
                level = logging.DEBUG if self._failing else logging.WARNING
                self._failing = True
                log.log(level, "cannot probe this machine again: %s", e)
                continue
            if self._failing:
                self._failing = False
                log.info("probing this machine works again")


def changes(before: Capabilities | None, after: Capabilities) -> str:
    """What differs between two Capabilities, in a few words for the log."""
    if before is None:
        return f"{len(after.images)} scraper image(s), {len(after.labels)} label(s)"
    words = []
    added, removed = set(after.images) - set(before.images), set(before.images) - set(after.images)
    if added:
        words.append(f"{len(added)} scraper image(s) added")
    if removed:
        words.append(f"{len(removed)} scraper image(s) gone")
    for name in (
        "cpus",
        "memory_bytes",
        "slots",
        "arch",
        "os",
        "docker_version",
        "labels",
        "paused",
    ):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            words.append(f"{name} {old} -> {new}")
    return ", ".join(words) or "unchanged"
