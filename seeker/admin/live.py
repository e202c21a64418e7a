"""What the pages show live: a compact snapshot of the grid (the overview's
numbers, each job's keys, rate, ETA and status, each Giver's presence), taken
about once a second by one task the admin app owns; the event streams wait for
a snapshot that differs from the last one they sent."""

import asyncio
import logging
import time
from typing import Any

from channel import canonical
from seeker.admin.console import Console
from seeker.admin.rates import RateMeter
from seeker.jobs import Job, JobStatus

log = logging.getLogger(__name__)

INTERVAL_S = 1.0


def job_numbers(job: Job, meter: RateMeter, now: float) -> dict[str, Any]:
    """A job's live numbers: its keys by state, rate (keys/s) and ETA (s)."""
    counts = job.counts()
    settled = counts["done"] + counts["failed"]
    left = counts["pending"] + counts["leased"]
    if job.status is JobStatus.RUNNING:
        rate, eta_s = meter.rate(job.job_id), meter.eta_s(job.job_id, left)
    else:
        # A job at rest shows its average over its life; it has no ETA.
        span_s = (job.finished_at or now) - job.created_at
        rate = settled / span_s if settled and span_s > 0 else None
        eta_s = None
    return {
        "id": job.job_id,
        "name": job.spec.name,
        "status": job.status.value,
        **counts,
        "rate": None if rate is None else round(rate, 2),
        "eta_s": None if eta_s is None else round(eta_s),
        "created_at": job.created_at,
    }


def overview_numbers(
    console: Console, jobs: list[dict[str, Any]], givers: dict[str, Any]
) -> dict[str, Any]:
    """The grid at a glance: Givers online, jobs running, keys a second, errors
    (keys failed for good and Givers flagged); `givers` as Coordinator.givers_view."""
    running = [j for j in jobs if j["status"] == JobStatus.RUNNING.value]
    return {
        "givers_online": sum(g["online"] for g in givers["givers"]),
        "givers": len(givers["givers"]),
        "givers_pending": len(console.admissions.pending()),
        "givers_flagged": len(givers["flagged"]),
        "jobs_running": len(running),
        "jobs": len(jobs),
        "leases": len(console.coordinator.keys.leases),
        "keys_per_s": round(sum(j["rate"] or 0.0 for j in running), 2),
        "keys_failed": sum(j["failed"] for j in jobs),
        "errors": sum(j["failed"] for j in jobs) + len(givers["flagged"]),
    }


def giver_numbers(givers: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": g["giver_id"],
            "online": g["online"],
            "last_seen": round(g["last_seen"]),
            "leases": g["leases"],
            "flagged": bool(g["flagged"]),
        }
        for g in givers["givers"]
    ]


def snapshot(console: Console, meter: RateMeter, now: float) -> dict[str, Any]:
    """The whole snapshot; sampling the jobs' settled keys for their rates."""
    keys = console.coordinator.keys
    meter.sample(now, {j.job_id: j.tally.done + j.tally.failed for j in keys.jobs.values()})
    jobs = [job_numbers(job, meter, now) for job in keys.jobs.values()]
    givers = console.coordinator.givers_view()
    return {
        "overview": overview_numbers(console, jobs, givers),
        "jobs": jobs,
        "givers": giver_numbers(givers),
    }


class LiveFeed:
    """The latest snapshot, as the bytes of a server-sent event, and a way to wait
    for the next one that differs."""

    def __init__(self, console: Console, *, interval_s: float = INTERVAL_S) -> None:
        self.console = console
        self.meter = RateMeter()
        self.version = 0
        self.data = b""
        self.current: dict[str, Any] = {}
        self.closing = asyncio.Event()
        self._interval_s = interval_s
        self._changed = asyncio.Event()

    def refresh(self) -> None:
        """Take a snapshot; publish it if it differs from the last."""
        current = snapshot(self.console, self.meter, time.time())
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
