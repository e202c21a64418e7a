"""The Seeker at a glance, as the overview page and the API show it: Givers, jobs,
keys, the rate they finish at, and what went wrong lately.

Everything comes from what the Seeker holds in memory (the coordinator, its
key manager and trust book, the pending admissions): no store round trip. So
it costs what the jobs in progress cost, not what history holds: jobs long
finished are only counted (seeker.work.ledger), and the rate and the errors
come from the jobs held (running or paused, and finished within the hour).
"""

import time
from collections.abc import Iterable
from typing import Any

from seeker.grid.admission import Admissions
from seeker.grid.coordinator import Coordinator
from seeker.work.jobs import JobStatus

# The latest failures, refusals and purged Givers shown.
LATEST_SHOWN = 10


def overview(coordinator: Coordinator, admissions: Admissions) -> dict[str, Any]:
    """Givers by state, jobs by status, the keys of unfinished jobs by state, the
    keys finished a second (every job's rate summed), and the latest errors."""
    keys = coordinator.keys
    jobs = list(keys.jobs.values())
    entries = coordinator.registry.entries()
    online = [entry for entry in entries if entry.online]
    statuses = keys.job_counts()
    unfinished = [job.counts() for job in jobs if job.open]
    return {
        "at": time.time(),
        "givers": {
            "registered": len(entries),
            "online": len(online),
            "pending_approval": len(admissions.pending()),
            "flagged": sum(1 for record in coordinator.trust.records() if record.flagged),
            "slots": sum(entry.info.capabilities.slots for entry in online),
            "leases": len(keys.leases),
        },
        "jobs": {status.value: statuses[status] for status in JobStatus},
        "keys": {
            state: sum(counts[state] for counts in unfinished)
            for state in ("total", "pending", "leased", "done", "failed")
        },
        "rate_keys_per_s": round(sum(job.finished.per_s() for job in jobs), 3),
        "errors": {
            "failed_last_hour": sum(job.failed_recently.count() for job in jobs),
            "failures": _latest(
                {
                    "job_id": job.job_id,
                    "block_id": f.block_id,
                    "key": f.key,
                    "reason": f.reason,
                    "at": f.at,
                }
                for job in jobs
                for f in job.failures
            ),
            "refusals": _latest(
                {
                    "job_id": job.job_id,
                    "giver_id": r.giver_id,
                    "task_id": r.task_id,
                    "reason": r.reason,
                    "at": r.at,
                }
                for job in jobs
                for r in job.refusals
            ),
            "purged": _latest(
                {"giver_id": p.giver_id, "name": p.name, "reason": p.reason, "at": p.at}
                for p in coordinator.purged
            ),
        },
    }


def _latest(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The LATEST_SHOWN latest of `items` (by `at`), latest first."""
    return sorted(items, key=lambda item: item["at"], reverse=True)[:LATEST_SHOWN]
