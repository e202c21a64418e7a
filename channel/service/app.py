"""The Channel's HTTP service: Givers post signed results without database access,
readers page through results and export jobs, and people share datasets (their
routes are in channel/service/datasets.py).

Givers authenticate by their signature; readers by a bearer token whose scope
names the jobs it may read.

Mounted inside the Seeker by default (under /channel/), or run on its own with
`channel serve`. A result is posted as JSON lines (its header, then one record
per line) and checked while it streams; a body larger than the limit is
refused from its Content-Length, before it is sent when the client asks
`Expect: 100-continue`.
"""

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from channel.errors import (
    InvalidResult,
    LineTooLong,
    RecordTooLarge,
    ResultConflict,
    ResultTooLarge,
    StoreUnavailable,
    UnknownJob,
    WireError,
)
from channel.jsonweb import error_middleware, error_response, json_response
from channel.service.datasets import add_dataset_routes
from channel.service.routing import CHANNEL, NDJSON, drain, reader_of, stream
from channel.store import export
from channel.store.base import PAGE_LIMIT, Channel
from channel.store.ingest import MAX_HEADER_BYTES, Intake, Lines, parse_header
from channel.store.rows import StoredResult
from channel.wire.results import Ack

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = web.AppKey("sweep_interval_s", float)
DEFAULT_SWEEP_INTERVAL_S = 60.0
# Records are checked off the event loop in batches of about this many bytes.
FEED_BYTES = 1024 * 1024


def make_app(
    channel: Channel, *, sweep_interval_s: float = DEFAULT_SWEEP_INTERVAL_S
) -> web.Application:
    """The service's aiohttp application over an open `channel`; it sweeps expired
    results every `sweep_interval_s`."""
    app = web.Application(middlewares=[error_middleware])
    app[CHANNEL] = channel
    app[SWEEP_INTERVAL_S] = sweep_interval_s
    app.router.add_post("/v1/results", post_result, expect_handler=_expect_fits)
    app.router.add_get("/v1/results/{result_id}", get_result)
    app.router.add_get("/v1/results/{result_id}/records", get_records)
    app.router.add_get("/v1/tasks/{task_id}/results", task_results)
    app.router.add_get("/v1/jobs/{job_id}/results", job_results)
    app.router.add_get("/v1/jobs/{job_id}/export", export_job)
    app.router.add_get("/v1/health", health)
    # The same check where container healthchecks and load balancers look.
    app.router.add_get("/healthz", health)
    add_dataset_routes(app)
    app.cleanup_ctx.append(_sweeping)
    return app


async def health(request: web.Request) -> web.Response:
    """200 `{"ok": true}` while the store answers; else 503, without the store's
    details (they are logged), since anyone may ask."""
    try:
        await request.app[CHANNEL].ping()
    except StoreUnavailable as e:
        log.warning("health check: %s", e)
        return error_response(503, "store_unavailable", "the results store is unavailable")
    return json_response({"ok": True})


def _too_large(channel: Channel, size_bytes: int) -> web.Response:
    return error_response(
        413,
        "result_too_large",
        f"the body ({size_bytes} bytes) exceeds the limit of {_body_limit(channel)} bytes",
    )


def _body_limit(channel: Channel) -> int:
    return channel.limits.result_bytes + MAX_HEADER_BYTES


async def _expect_fits(request: web.Request) -> web.Response | None:
    """Answer `Expect: 100-continue`: refuse an oversized body before it is sent."""
    length = request.content_length
    if length is not None and length > _body_limit(request.app[CHANNEL]):
        return _too_large(request.app[CHANNEL], length)
    if request.version >= (1, 1) and request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return None


async def post_result(request: web.Request) -> web.Response:
    """Store a signed result streamed as JSON lines; answer with its acknowledgement."""
    channel = request.app[CHANNEL]
    if request.content_length is not None and request.content_length > _body_limit(channel):
        return _too_large(channel, request.content_length)
    try:
        response = json_response((await _receive(channel, request)).to_wire())
    except RecordTooLarge as e:
        response = error_response(413, "record_too_large", str(e))
    except ResultTooLarge as e:
        response = error_response(413, "result_too_large", str(e))
    except WireError as e:
        response = error_response(400, "bad_result", str(e))
    except UnknownJob as e:
        response = error_response(403, "unknown_job", str(e))
    except InvalidResult as e:
        response = error_response(403, "invalid_result", str(e))
    except ResultConflict as e:
        response = error_response(409, "result_conflict", str(e))
    except StoreUnavailable as e:
        log.warning("result not stored: %s", e)
        response = error_response(503, "store_unavailable", "the results store is unavailable")
    await drain(request, _body_limit(channel))
    return response


async def _receive(channel: Channel, request: web.Request) -> Ack:
    splitter = Lines(max(MAX_HEADER_BYTES, channel.limits.record_bytes))
    stream = _body(request)
    lines: list[bytes] = []
    try:
        async for data in stream:
            lines += splitter.feed(data)
            if lines:
                break
        else:
            lines += splitter.end()
    except LineTooLong as e:
        raise WireError(f"the result header exceeds {MAX_HEADER_BYTES} bytes") from e
    if not lines:
        raise WireError("the body holds no result header")
    if len(lines[0]) > MAX_HEADER_BYTES:
        raise WireError(f"the result header exceeds {MAX_HEADER_BYTES} bytes")
    begun = await channel.begin(parse_header(lines[0]))
    pending = lines[1:]
    pending_bytes = sum(map(len, pending))
    try:
        async for data in stream:
            pending += splitter.feed(data)
            pending_bytes += len(data)
            if pending_bytes >= FEED_BYTES:
                await _feed(begun, pending, pending_bytes)
                pending, pending_bytes = [], 0
        pending += splitter.end()
    except LineTooLong as e:
        limit = channel.limits.record_bytes
        raise RecordTooLarge(begun.result.result_id, begun.count, limit) from e
    await _feed(begun, pending, pending_bytes)
    return await channel.commit(begun)


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The body in pieces as it arrives; a small one whole, read at once, so that a
    client gone after sending it still has its result stored."""
    length = request.content_length
    if length is not None and length <= FEED_BYTES:
        yield await request.read()
        return
    async for data in request.content.iter_any():
        yield data


async def _feed(intake: Intake, lines: list[bytes], size_bytes: int) -> None:
    if size_bytes >= FEED_BYTES:
        await asyncio.to_thread(intake.add, lines)
    else:
        intake.add(lines)


async def _may_read_job(request: web.Request, job_id: str) -> None:
    reader = await reader_of(request)
    if not reader.may_read_job(job_id):
        raise web.HTTPForbidden(text=f"reader token {reader.token_id} may not read job {job_id}")


async def _readable(request: web.Request) -> StoredResult:
    row = await request.app[CHANNEL].result(request.match_info["result_id"])
    if row is None:
        raise web.HTTPNotFound(text="no such result")
    await _may_read_job(request, row.job_id)
    return row


async def get_result(request: web.Request) -> web.Response:
    """A stored result's signed header and the size of its records."""
    return json_response((await _readable(request)).to_wire())


def _full(request: web.Request) -> bool:
    """Whether the reader asks for the full result (`full=1`): debug captures too."""
    value = request.query.get("full", "0")
    if value not in ("0", "1"):
        raise web.HTTPBadRequest(text="full must be 0 or 1")
    return value == "1"


async def get_records(request: web.Request) -> web.StreamResponse:
    """A stored result's records as JSON lines, streamed; `full=1` keeps their
    debug captures."""
    channel = request.app[CHANNEL]
    full = _full(request)
    row = await _readable(request)

    async def lines() -> AsyncIterator[bytes]:
        async for line in channel.record_lines(row, full=full):
            yield line + b"\n"

    return await stream(request, lines(), NDJSON)


async def task_results(request: web.Request) -> web.Response:
    """Every stored result of a task (headers, without records) the reader may read."""
    reader = await reader_of(request)
    rows = await request.app[CHANNEL].result_rows([request.match_info["task_id"]])
    readable = [row.to_wire() for row in rows if reader.may_read_job(row.job_id)]
    return json_response({"results": readable})


async def job_results(request: web.Request) -> web.Response:
    """A page of a job's results in the order they were stored; pass `cursor` back
    as `after` for the next page (also once the job has more results)."""
    try:
        after = int(request.query.get("after", "0"))
        limit = int(request.query.get("limit", str(PAGE_LIMIT)))
    except ValueError:
        return error_response(400, "bad_query", "after and limit must be whole numbers")
    if after < 0 or not 1 <= limit <= PAGE_LIMIT:
        return error_response(
            400, "bad_query", f"after must be 0 or more and limit between 1 and {PAGE_LIMIT}"
        )
    await _may_read_job(request, request.match_info["job_id"])
    page = await request.app[CHANNEL].results_page(
        request.match_info["job_id"], after=after, limit=limit
    )
    return json_response(
        {"results": [row.to_wire() for row in page.results], "cursor": page.cursor}
    )


async def export_job(request: web.Request) -> web.StreamResponse:
    """Every record of a job, `format=jsonl` (the default; `full=1` keeps debug
    captures) or `format=csv`; CSV takes its columns from `fields=a,b` or,
    without it, from the records themselves."""
    channel = request.app[CHANNEL]
    job_id = request.match_info["job_id"]
    full = _full(request)
    await _may_read_job(request, job_id)
    kind = request.query.get("format", "jsonl")
    if kind == "jsonl":
        return await stream(
            request, export.jsonl(channel, job_id, full=full), NDJSON, f"{job_id}.jsonl"
        )
    if kind == "csv":
        fields = request.query.get("fields")
        columns = [f for f in fields.split(",") if f] if fields is not None else None
        return await stream(
            request,
            export.csv_text(export.stored_records(channel, job_id), columns),
            "text/csv",
            f"{job_id}.csv",
        )
    return error_response(400, "bad_query", "format must be jsonl or csv")


async def _sweeping(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_sweep_forever(app[CHANNEL], app[SWEEP_INTERVAL_S]))
    yield
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


async def _sweep_forever(channel: Channel, interval_s: float) -> None:
    failing = False
    while True:
        try:
            removed = await channel.sweep()
        except StoreUnavailable as e:
            log.log(logging.DEBUG if failing else logging.WARNING, "sweep failed: %s", e)
            failing = True
        else:
            failing = False
            if removed:
                log.info("sweep removed %d expired result(s)", removed)
        await asyncio.sleep(interval_s)
