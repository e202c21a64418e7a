"""What the pages show live: a compact snapshot of the grid (the overview the API
gives, each job's keys, rate, ETA and status, each Giver's presence), taken
about once a second by one task the admin app owns; the event streams wait for
a snapshot that differs from the last one they sent."""

import asyncio
import logging
from typing import Any

from channel.wire import canonical
from seeker.api.parts import Parts
from seeker.grid.coordinator import Coordinator
from seeker.views.overview import overview
from seeker.work.jobs import Job

log = logging.getLogger(__name__)

INTERVAL_S = 1.0


def job_numbers(job: Job) -> dict[str, Any]:
    """A job's live numbers: its keys by state, its rate (keys/s) and ETA (s)."""
    return {
        "id": job.job_id,
        "name": job.spec.name,
        "status": job.status.value,
        **job.counts(),
        **job.pace(),
        "created_at": job.created_at,
    }


def giver_numbers(coordinator: Coordinator) -> list[dict[str, Any]]:
    """Each registered Giver's live numbers: whether online, when last seen, the
    leases it holds, whether flagged."""
    loads, trust = coordinator.keys.loads(), coordinator.trust
    return [
        {
            "id": entry.info.giver_id,
            "online": entry.online,
            "last_seen": round(entry.last_seen),
            "leases": loads[entry.info.giver_id],
            "flagged": bool((record := trust.peek(entry.info.giver_id)) and record.flagged),
        }
        for entry in coordinator.registry.entries()
    ]


def snapshot(seeker: Parts) -> dict[str, Any]:
    """The whole snapshot: the overview (without the time it was taken, so that an
    unchanged grid gives an unchanged snapshot), the jobs and the Givers."""
    coordinator = seeker.coordinator
    grid = overview(coordinator, seeker.admissions)
    del grid["at"]
    return {
        "overview": grid,
        "jobs": [job_numbers(job) for job in coordinator.keys.jobs.values()],
        "givers": giver_numbers(coordinator),
    }


class LiveFeed:
    """The latest snapshot, as the bytes of a server-sent event, and a way to wait
    for the next one that differs."""

    def __init__(self, seeker: Parts, *, interval_s: float = INTERVAL_S) -> None:
        self.seeker = seeker
        self.version = 0
        self.data = b""
        self.current: dict[str, Any] = {}
        self.closing = asyncio.Event()
        self._interval_s = interval_s
        self._changed = asyncio.Event()

    def refresh(self) -> None:
        """Take a snapshot; publish it if it differs from the last."""
        current = snapshot(self.seeker)
        data = canonical.dumps(current)
        if data == self.data:
            return
        self.current, self.data, self.version = current, data, self.version + 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def latest(self) -> dict[str, Any]:
        """The latest snapshot (taken now if none was yet)."""
        if not self.version:
            self.refresh()
        return self.current

    async def run(self) -> None:
        """Refresh every interval until closing."""
        while not self.closing.is_set():
            try:
                self.refresh()
            except Exception:
                log.exception("cannot take the admin pages' live snapshot; trying again")
            try:
                await asyncio.wait_for(self.closing.wait(), self._interval_s)
            except TimeoutError:
                pass

    async def wait(self, version: int, timeout_s: float) -> bool:
        """Wait until there is a snapshot newer than `version`, for at most
        `timeout_s` or until closing; whether there is one."""
        if self.version > version:
            return True
        changed = asyncio.ensure_future(self._changed.wait())
        closing = asyncio.ensure_future(self.closing.wait())
        try:
            await asyncio.wait({changed, closing}, timeout=timeout_s, return_when="FIRST_COMPLETED")
        finally:
            changed.cancel()
            closing.cancel()
        return self.version > version and not self.closing.is_set()
