"""One job in detail: its progress (live), what it runs, its blocks with their
leases and Givers, the blocks whose copies disagreed, a page of its records, and
the failed keys with the log each failure brought back (the end of it: `seeker
replay` writes it whole). Each section reads what the JSON API's job-detail
routes read (seeker.views.blocks, seeker.views.records, seeker.views.replay),
a page at a time: `blocks_after`,
`disputes_after` and `results_after` say where each section's page starts,
`limit` how many it holds."""

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from seeker.admin.live import job_numbers
from seeker.admin.record_table import record_table
from seeker.admin.render import page
from seeker.api.parts import parts
from seeker.views.blocks import blocks_page, disagreements_page, giver_names
from seeker.views.paging import RecordCursor, block_cursor, page_limit
from seeker.views.records import records_page
from seeker.views.replay import failure_logs

# Each section's page size when the address gives no `limit`.
SHOWN = 20
# The end of a failure's log the page shows, in characters; and the most lines
# it shows open, a longer log being folded.
LOG_SHOWN_CHARS = 8 * 1024
LOG_OPEN_LINES = 5


@dataclass(frozen=True, slots=True)
class ShownLog:
    """The end of a failure's log as the page shows it: how much came before it,
    how many lines it has, and whether it is folded."""

    text: str
    cut_chars: int
    lines: int

    @classmethod
    def of(cls, log: str) -> "ShownLog":
        text = log[-LOG_SHOWN_CHARS:]
        return cls(text, len(log) - len(text), text.rstrip("\n").count("\n") + 1)

    @property
    def folded(self) -> bool:
        return self.cut_chars > 0 or self.lines > LOG_OPEN_LINES


async def show_job(request: web.Request) -> web.Response:
    coordinator = parts(request).coordinator
    job = await coordinator.keys.job(request.match_info["job_id"])
    query = request.query
    limit = page_limit(query.get("limit", str(SHOWN)))
    blocks_after = block_cursor(query.get("blocks_after"))
    disputes_after = block_cursor(query.get("disputes_after"))
    results_after = RecordCursor.parse(query.get("results_after"))
    blocks = await blocks_page(coordinator, job.job_id, blocks_after, limit)
    disputes = await disagreements_page(coordinator, job.job_id, disputes_after, limit)
    records = await records_page(coordinator.keys.channel, job.job_id, results_after, limit)
    names = giver_names(coordinator)
    view = coordinator.job_view(job)
    logs = await failure_logs(coordinator, list(job.failures))

    def here(**changes: Any) -> str:
        """This page's address with `changes` to its query (None drops a parameter)."""
        params = {**query, **changes}
        kept = {name: value for name, value in params.items() if value is not None}
        return f"/admin/jobs/{job.job_id}" + (f"?{urlencode(kept)}" if kept else "")

    return page(
        request,
        "job.html",
        section="jobs",
        title=f"Job {job.spec.name or job.job_id}",
        job=view,
        numbers=job_numbers(job),
        blocks=blocks,
        disputes=disputes,
        records=records,
        table=await record_table(records["records"], names),
        paged=bool(query.get("results_after")),
        here=here,
        now=time.time(),
        logs={(f.block_id, f.key): ShownLog.of(log) for f, log in logs.items()},
    )
