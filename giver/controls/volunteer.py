"""The volunteer's controls over a running Giver: pause and resume (no new tasks;
running ones go on), why it takes no tasks now, what `giver status` shows, and
`drain()` before `stop()`.

A pause survives a restart (giver.controls.pause keeps it in a file). Outside the
active hours, or while the disk cap is reached, the Giver takes no tasks
either; the Seeker hears why in the `paused` field of the Capabilities.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from channel.wire.givers import MAX_LABEL_VALUE_CHARS
from channel.wire.identity import Identity
from giver.controls import pause, status
from giver.egress.ledger import Ledger
from giver.egress.traffic import Traffic
from giver.link.outbox import Outbox
from giver.link.reporter import Reporter
from giver.link.session import Session
from giver.tasks.execution import Running
from giver.terms.capacity import Caps
from giver.terms.config import GiverConfig
from giver.terms.hours import outside

log = logging.getLogger(__name__)

STOPPING_CLAUSE = "is stopping"
PAUSED_CLAUSE = "is paused by its volunteer"
# While draining, how often to look whether the outbox has emptied.
DRAIN_POLL_S = 0.5


class VolunteerControls:
    """The volunteer's side of `Giver`: `Giver` mixes this in and owns the state
    read here."""

    config: GiverConfig
    _clock: Callable[[], datetime]
    _caps: Caps
    _traffic: Traffic
    _ledger: Ledger
    _identity: Identity | None
    _session: Session | None
    refusal: str
    _outbox: Outbox | None
    _reporter: Reporter
    _tasks: dict[str, "asyncio.Task[None]"]
    _busy: dict[str, Running]
    _paused_at: float | None
    _draining: bool
    _delivered: asyncio.Event
    _recent: status.RecentErrors
    _stopping: asyncio.Event

    async def drain(self) -> None:
        """Take no new tasks and give the running ones up to `drain_grace_s` to finish
        and their results to reach the Channel; `stop()` then releases what is left.
        Cancelling the drain ends it at once."""
        self._draining = True
        self._reporter.refresh_soon()
        running = len(self._tasks)
        log.info(
            "draining: no new tasks; %d running task(s) get up to %g s to finish",
            running,
            self.config.drain_grace_s,
        )
        try:
            async with asyncio.timeout(self.config.drain_grace_s):
                while self._tasks:
                    await asyncio.wait(list(self._tasks.values()))
                while self._outbox is not None and await self._outbox.pending():
                    self._delivered.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._delivered.wait(), DRAIN_POLL_S)
        except TimeoutError:
            log.info(
                "drain grace of %g s is over: releasing %d task(s) still running",
                self.config.drain_grace_s,
                len(self._busy),
            )
        except asyncio.CancelledError:
            log.info("stopping at once: releasing %d running task(s)", len(self._busy))
            raise

    async def pause(self) -> float:
        """Take no new tasks until `resume()`, also after a restart; when the pause began."""
        was_paused = self._paused_at is not None
        self._paused_at = await asyncio.to_thread(pause.pause, self.config.pause_path)
        if not was_paused:
            log.info(
                "paused by the volunteer: no new tasks; %d running task(s) go on", len(self._busy)
            )
        self._reporter.refresh_soon()
        return self._paused_at

    async def resume(self) -> bool:
        """Take tasks again (within the active hours); whether the Giver was paused."""
        was_paused = await asyncio.to_thread(pause.resume, self.config.pause_path)
        if self._paused_at is not None:
            log.info("resumed by the volunteer")
        self._paused_at = None
        self._reporter.refresh_soon()
        return was_paused

    async def idle_reason(self) -> str:
        """Why the Giver takes no tasks now, as a clause following its name; "" if it does."""
        if self._stopping.is_set() or self._draining:
            return STOPPING_CLAUSE
        if self._paused_at is not None:
            return PAUSED_CLAUSE
        reason = outside(self.config.active_hours, self._clock())
        if reason is None and self._outbox is not None and self._caps.disk_bytes is not None:
            reason = self._caps.disk_full((await self._outbox.stats()).bytes, 0)
        return (reason or "")[:MAX_LABEL_VALUE_CHARS]

    async def status(self) -> dict[str, Any]:
        """What `giver status` shows: see giver.controls.status.document."""
        return status.document(
            giver_id=self._identity.id if self._identity is not None else "",
            config=self.config,
            session=self._session,
            refusal=self.refusal,
            paused_at=self._paused_at,
            idle=await self.idle_reason(),
            running=[
                status.RunningView(r.task.task_id, r.task.job_id, r.done, r.total, r.started_at)
                for r in self._busy.values()
            ],
            outbox=await self._outbox.stats() if self._outbox is not None else None,
            recent=self._recent.entries(),
            traffic=self._traffic.view(),
            egress=self._ledger.view(),
            now=self._clock(),
        )
