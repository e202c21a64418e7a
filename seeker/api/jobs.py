"""The JSON API's job routes: submit, follow, steer, export, dump and load jobs."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from channel.errors import WireError
from channel.jsonweb import json_response, read_json
from channel.service.routing import NDJSON, stream
from channel.store import export
from channel.wire import canonical
from seeker.api.parts import parts
from seeker.errors import InvalidJob, InvalidQuery, InvalidState
from seeker.grid import actions
from seeker.views.job_list import jobs_page
from seeker.views.paging import job_cursor, page_limit
from seeker.work.spec import MAX_PRIORITY
from seeker.work.statefile import dump_state, load_state

log = logging.getLogger(__name__)

UPLOAD_CHUNK_BYTES = 256 * 1024
MAX_JOB_PART_BYTES = 1024 * 1024
MAX_STATE_LINE_BYTES = 64 * 1024 * 1024
CSV = "text/csv; charset=utf-8"


def add_job_routes(app: web.Application) -> None:
    app.router.add_post("/jobs", submit_job)
    app.router.add_get("/jobs", list_jobs)
    app.router.add_post("/jobs/state", load_job)
    app.router.add_get("/jobs/{job_id}", get_job)
    app.router.add_delete("/jobs/{job_id}", delete_job)
    app.router.add_post("/jobs/{job_id}/{action:pause|resume|cancel}", set_status)
    app.router.add_post("/jobs/{job_id}/priority", set_priority)
    app.router.add_post("/jobs/{job_id}/blocks/{seq}/invalidate", invalidate_block)
    app.router.add_get("/jobs/{job_id}/records", job_records)
    app.router.add_get("/jobs/{job_id}/failures", job_failures)
    app.router.add_get("/jobs/{job_id}/state", dump_job)


async def submit_job(request: web.Request) -> web.Response:
    """A job as a JSON body, or as multipart: a `job` part (JSON), then a `keys`
    part of one key per line, streamed to disk."""
    seeker = parts(request)
    config, coordinator = seeker.config, seeker.coordinator
    if not request.content_type.startswith("multipart/"):
        body = await read_json(request)
        job = await actions.submit(
            coordinator, seeker.catalog, body, scratch_dir=config.scratch_dir
        )
        return json_response(coordinator.job_view(job), status=201)
    with _multipart_errors():
        reader = await request.multipart()
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != "job":
            raise InvalidJob("a multipart submission starts with a 'job' part (the JSON job)")
        body = await part.read()
    if len(body) > MAX_JOB_PART_BYTES:
        raise InvalidJob(f"the 'job' part is over {MAX_JOB_PART_BYTES} bytes")
    try:
        fields = canonical.loads(body)
    except WireError as e:
        raise InvalidJob(f"the 'job' part is not JSON: {e}") from e
    with _multipart_errors():
        keys_part = await reader.next()
    if not isinstance(keys_part, BodyPartReader) or keys_part.name != "keys":
        raise InvalidJob("a multipart submission needs a 'keys' part after the 'job' part")
    spec = await actions.job_spec(seeker.catalog, fields, keys_file=True)
    path = config.scratch_dir / f"upload-{uuid.uuid4().hex}.keys"
    try:
        with _multipart_errors():
            await _save(keys_part, path)
        job = await actions.make_job(
            coordinator, spec, scratch_dir=config.scratch_dir, keys_file=path
        )
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    return json_response(coordinator.job_view(job), status=201)


@contextmanager
def _multipart_errors() -> Iterator[None]:
    """A multipart body aiohttp cannot read (no boundary, a bad part header, cut
    short) as InvalidJob, in one line."""
    try:
        yield
    except BadHttpMessage as e:
        raise InvalidJob(f"the multipart body is malformed: {' '.join(e.message.split())}") from e
    except ValueError as e:
        raise InvalidJob(f"the multipart body is malformed: {e}") from e


async def _save(part: BodyPartReader, path: Path) -> None:
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    out = await asyncio.to_thread(path.open, "wb")
    try:
        while chunk := await part.read_chunk(UPLOAD_CHUNK_BYTES):
            await asyncio.to_thread(out.write, chunk)
    finally:
        await asyncio.to_thread(out.close)


async def list_jobs(request: web.Request) -> web.Response:
    """`?after=CURSOR&limit=N`: a page of the jobs, newest first."""
    after, limit = job_cursor(request.query.get("after")), page_limit(request.query.get("limit"))
    coordinator = parts(request).coordinator
    page = await jobs_page(coordinator.keys, after, limit)
    return json_response(
        {"jobs": [coordinator.job_view(job) for job in page.jobs], "next": page.next}
    )


async def get_job(request: web.Request) -> web.Response:
    coordinator = parts(request).coordinator
    job = await coordinator.keys.job(request.match_info["job_id"])
    return json_response(coordinator.job_view(job))


async def delete_job(request: web.Request) -> web.Response:
    """Delete a done or cancelled job; what it was."""
    coordinator = parts(request).coordinator
    job = await actions.delete_job(coordinator, request.match_info["job_id"])
    return json_response(coordinator.job_view(job))


async def set_status(request: web.Request) -> web.Response:
    """Pause, resume or cancel a job; a cancel stops its leased tasks."""
    coordinator = parts(request).coordinator
    job = await actions.steer(
        coordinator, request.match_info["job_id"], request.match_info["action"]
    )
    return json_response(coordinator.job_view(job))


async def set_priority(request: web.Request) -> web.Response:
    body = await read_json(request)
    priority = body.get("priority") if isinstance(body, dict) else None
    if (
        not isinstance(priority, int)
        or isinstance(priority, bool)
        or not 1 <= priority <= MAX_PRIORITY
    ):
        raise InvalidJob(
            f"priority must be a whole number from 1 to {MAX_PRIORITY}", field="priority"
        )
    coordinator = parts(request).coordinator
    job_id = request.match_info["job_id"]
    await coordinator.keys.set_priority(job_id, priority)
    return json_response(coordinator.job_view(await coordinator.keys.job(job_id)))


async def invalidate_block(request: web.Request) -> web.Response:
    coordinator = parts(request).coordinator
    job_id, seq = request.match_info["job_id"], request.match_info["seq"]
    return json_response(
        coordinator.job_view(await actions.invalidate_block(coordinator, job_id, seq))
    )


async def job_records(request: web.Request) -> web.StreamResponse:
    """The records of a job's counted results, as a download: `format=jsonl` (the
    default; `full=1` keeps their debug captures) or `format=csv` (columns
    `fields=a,b`, or every data field the records use)."""
    keys = parts(request).coordinator.keys
    job = await keys.job(request.match_info["job_id"])
    job_id = job.job_id
    full = request.query.get("full", "0")
    if full not in ("0", "1"):
        raise InvalidQuery("full", "full must be 0 or 1")
    kind = request.query.get("format", "jsonl")
    if kind not in ("jsonl", "csv"):
        raise InvalidQuery("format", "format must be jsonl or csv")
    if kind == "csv" and full == "1":
        raise InvalidQuery("full", "full=1 (debug captures) goes with format=jsonl only")
    await keys.check_results_here(job)
    if kind == "csv":
        fields = request.query.get("fields")
        columns = [f for f in fields.split(",") if f] if fields is not None else None

        async def records() -> AsyncIterator[dict[str, Any]]:
            async for result in keys.counted_results(job_id):
                for record in result.records:
                    yield record

        return await stream(request, export.csv_text(records, columns), CSV, f"{job_id}.csv")

    async def lines() -> AsyncIterator[bytes]:
        async for result in keys.counted_results(job_id):
            yield b"".join(
                canonical.dumps(r if full == "1" else _plain(r)) + b"\n" for r in result.records
            )

    return await stream(request, lines(), NDJSON, f"{job_id}.jsonl")


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its debug capture."""
    return {name: value for name, value in record.items() if name != "capture"}


async def job_failures(request: web.Request) -> web.StreamResponse:
    """Every key of a job that failed for good, and why, as JSON lines."""
    keys = parts(request).coordinator.keys
    job = await keys.job(request.match_info["job_id"])

    async def lines() -> AsyncIterator[bytes]:
        async for block in keys.blocks(job.job_id):
            failed = block.outcome(job.spec.max_attempts)[1] if block.runs else {}
            for key, reason in failed.items():
                yield (
                    canonical.dumps({"block_id": block.block_id, "key": key, "reason": reason})
                    + b"\n"
                )

    return await stream(request, lines(), NDJSON)


async def dump_job(request: web.Request) -> web.StreamResponse:
    keys = parts(request).coordinator.keys
    job_id = (await keys.job(request.match_info["job_id"])).job_id
    return await stream(request, dump_state(keys, job_id), NDJSON)


async def load_job(request: web.Request) -> web.Response:
    coordinator = parts(request).coordinator
    job = await load_state(coordinator.keys, _lines(request))
    coordinator.wake()
    return json_response(coordinator.job_view(job), status=201)


async def _lines(request: web.Request) -> AsyncIterator[bytes]:
    """The request body's lines, however long (up to a bound)."""
    pending = b""
    async for chunk in request.content.iter_chunked(UPLOAD_CHUNK_BYTES):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line
        if len(pending) > MAX_STATE_LINE_BYTES:
            raise InvalidState(f"a line is over {MAX_STATE_LINE_BYTES} bytes")
    if pending:
        yield pending
