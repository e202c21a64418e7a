"""What `giver status` shows: the Giver's state as one JSON document, and as text.

The document holds the Giver's identity and Seeker, its session (and why the
Seeker refuses it, if it refuses its release), whether it
takes tasks (and why not), its running tasks with their progress, the results
waiting in its outbox, its traffic against the volunteer's caps and where
the scrapers' requests went (per job and host, from giver.egress), and its
recent warnings and errors.
"""

import collections
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from giver.egress.traffic import size
from giver.link.outbox import OutboxStats
from giver.terms.config import GiverConfig

if TYPE_CHECKING:
    from giver.link.session import Session

RECENT_ERRORS = 20
MIB = 2**20


@dataclass(frozen=True, slots=True)
class RunningView:
    """A running task as the status shows it."""

    task_id: str
    job_id: str
    done: int
    total: int
    started_at: float


class RecentErrors(logging.Handler):
    """The last RECENT_ERRORS warnings and errors the giver package logged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=RECENT_ERRORS)

    def attach(self) -> None:
        logging.getLogger("giver").addHandler(self)

    def detach(self) -> None:
        logging.getLogger("giver").removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self._entries.append(
            {
                "at": record.created,
                "level": record.levelname.lower(),
                "message": record.getMessage(),
            }
        )

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)


def document(
    *,
    giver_id: str,
    config: GiverConfig,
    session: "Session | None",
    refusal: str,
    paused_at: float | None,
    idle: str,
    running: Iterable[RunningView],
    outbox: OutboxStats | None,
    recent: list[dict[str, Any]],
    traffic: dict[str, Any],
    egress: dict[str, dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """The status document `giver status --json` prints."""
    wall = time.time()
    return {
        "giver_id": giver_id,
        "name": config.name,
        "seeker_url": config.seeker_url,
        "data_dir": str(config.data_dir),
        "session": {
            "open": session is not None and session.opened_at is not None,
            "since": session.opened_at if session is not None else None,
            "last_error": session.last_error if session is not None else "",
        },
        "refused": refusal,
        "taking_tasks": not idle,
        "idle_reason": idle,
        "paused_since": paused_at,
        "active_hours": [str(w) for w in config.active_hours],
        "local_time": now.strftime("%H:%M"),
        "running": [
            {
                "task_id": r.task_id,
                "job_id": r.job_id,
                "done": r.done,
                "total": r.total,
                "elapsed_s": round(wall - r.started_at, 1),
            }
            for r in running
        ],
        "outbox": {
            "count": outbox.count if outbox else 0,
            "bytes": outbox.bytes if outbox else 0,
            "oldest_age_s": round(wall - outbox.oldest_at, 1)
            if outbox and outbox.oldest_at is not None
            else None,
            "last_error": outbox.last_error if outbox else "",
        },
        "traffic": traffic,
        "egress": egress,
        "recent_errors": recent,
    }


def render(doc: dict[str, Any]) -> str:
    """The status document as lines for a person."""
    session = doc["session"]
    if session["open"]:
        connected = f"open since {_when(session['since'])}"
    else:
        connected = "not open" + (
            f" (last error: {session['last_error']})" if session["last_error"] else ""
        )
    if doc["taking_tasks"]:
        taking = "taking tasks"
    else:
        taking = f"not taking tasks: it {doc['idle_reason']}"
    if doc["paused_since"] is not None:
        taking += f" (paused since {_when(doc['paused_since'])})"
    hours = ", ".join(doc["active_hours"]) or "any time"
    lines = [
        f"giver {doc['giver_id']} ({doc['name']})",
        f"seeker:       {doc['seeker_url'] or 'any on the LAN (found over mDNS)'} "
        f"(session {connected})",
        *([f"refused:      {doc['refused']}"] if doc["refused"] else []),
        f"state:        {taking}",
        f"active hours: {hours} (local time now {doc['local_time']})",
        f"running:      {len(doc['running'])} task(s)",
    ]
    for r in doc["running"]:
        progress = f"{r['done']}/{r['total']} keys" if r["total"] else "no progress yet"
        lines.append(f"  {r['task_id']} (job {r['job_id']}): {progress}, {r['elapsed_s']:.0f} s")
    outbox = doc["outbox"]
    queued = f"{outbox['count']} result(s), {outbox['bytes'] / MIB:.1f} MiB"
    if outbox["oldest_age_s"] is not None:
        queued += f", oldest {outbox['oldest_age_s']:.0f} s"
    lines.append(f"outbox:       {queued} waiting to be uploaded")
    if outbox["last_error"]:
        lines.append(f"  uploads are failing: {outbox['last_error']}")
    lines.extend(_traffic_lines(doc["traffic"]))
    for job_id, hosts in doc["egress"].items():
        lines.append(f"egress of job {job_id}:")
        for host, tally in hosts.items():
            outcomes = ", ".join(f"{n} {kind}" for kind, n in tally["outcomes"].items())
            lines.append(
                f"  {host}: {tally['requests']} request(s) ({outcomes}), "
                f"{size(tally['bytes_sent'])} sent, {size(tally['bytes_received'])} received"
            )
    if doc["recent_errors"]:
        lines.append("recent warnings and errors:")
        for entry in doc["recent_errors"]:
            lines.append(f"  {_when(entry['at'])} {entry['level']}: {entry['message']}")
    return "\n".join(lines)


def _traffic_lines(traffic: dict[str, Any]) -> list[str]:
    def used(count: int, cap: int | None) -> str:
        return f"{size(count)}" + (f" of {size(cap)}" if cap is not None else " (no cap)")

    def rate(value: int | None) -> str:
        return f"{size(value)}/s" if value is not None else "unlimited"

    lines = [
        f"traffic:      today {used(traffic['today_bytes'], traffic['day_cap_bytes'])}, "
        f"this month {used(traffic['month_bytes'], traffic['month_cap_bytes'])}; "
        f"upload {rate(traffic['up_rate'])}, download {rate(traffic['down_rate'])}"
    ]
    if traffic["paused"]:
        lines.append(f"  no task that needs the network: this Giver {traffic['paused']}")
    return lines


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")
