"""The JSON API's reads behind a job's detail page: its blocks, one block, the
blocks whose copies disagreed, its records a page at a time, and what replaying
a failed key takes."""

from aiohttp import web

from channel.jsonweb import json_response
from seeker.api.parts import parts
from seeker.errors import InvalidQuery, UnknownBlock
from seeker.grid.coordinator import Coordinator
from seeker.views.blocks import blocks_page, disagreements_page, one_block
from seeker.views.paging import RecordCursor, block_cursor, page_limit
from seeker.views.records import records_page
from seeker.views.replay import replay_view


def add_job_detail_routes(app: web.Application) -> None:
    app.router.add_get("/jobs/{job_id}/blocks", list_blocks)
    app.router.add_get("/jobs/{job_id}/blocks/{seq}", get_block)
    app.router.add_get("/jobs/{job_id}/disagreements", list_disagreements)
    app.router.add_get("/jobs/{job_id}/results", list_records)
    app.router.add_get("/jobs/{job_id}/replay", get_replay)


async def list_blocks(request: web.Request) -> web.Response:
    """`?after=SEQ&limit=N`: a page of the job's blocks in seq order."""
    return json_response(await blocks_page(*_block_page(request)))


async def get_block(request: web.Request) -> web.Response:
    job_id, seq = request.match_info["job_id"], request.match_info["seq"]
    if not seq.isascii() or not seq.isdigit():
        raise UnknownBlock(f"{job_id}-{seq}")
    return json_response(await one_block(parts(request).coordinator, job_id, int(seq)))


async def list_disagreements(request: web.Request) -> web.Response:
    """`?after=SEQ&limit=N`: a page of the job's blocks whose copies disagreed."""
    return json_response(await disagreements_page(*_block_page(request)))


def _block_page(request: web.Request) -> tuple[Coordinator, str, int, int]:
    """What a page of a job's blocks is read with: the coordinator, the job, the
    seq it goes on after, and how many blocks."""
    after, limit = block_cursor(request.query.get("after")), page_limit(request.query.get("limit"))
    return parts(request).coordinator, request.match_info["job_id"], after, limit


async def list_records(request: web.Request) -> web.Response:
    """`?after=CURSOR&limit=N`: a page of the job's stored records."""
    after = RecordCursor.parse(request.query.get("after"))
    limit = page_limit(request.query.get("limit"))
    keys = parts(request).coordinator.keys
    job_id = (await keys.job(request.match_info["job_id"])).job_id
    return json_response(await records_page(keys.channel, job_id, after, limit))


async def get_replay(request: web.Request) -> web.Response:
    """`?key=KEY`: what replaying a failed key of the job takes (its task input,
    image, settings and log)."""
    key = request.query.get("key", "")
    if not key:
        raise InvalidQuery("key", "give the failed key to replay: ?key=KEY")
    job_id = request.match_info["job_id"]
    return json_response(await replay_view(parts(request).coordinator, job_id, key))
