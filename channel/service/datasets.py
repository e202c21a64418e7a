"""The Channel's dataset routes: upload, list, read and delete datasets with a
reader token.

A dataset is uploaded with PUT as JSON lines, one object a line, and checked
while it streams; nothing is visible under its name until the upload has been
taken whole. A body larger than the limit is refused from its Content-Length,
and a token that may not upload is refused from its headers, before the body
is sent when the client asks `Expect: 100-continue`.

Who may do what: a token with `upload` uploads; it reads and deletes what it
uploaded. A token whose `datasets` name a dataset (or `*`) reads it; one with
`*` and `upload` also deletes any dataset.
"""

import logging

from aiohttp import web

from channel.errors import (
    BadDatasetLine,
    BadDatasetName,
    ChannelError,
    DatasetExists,
    DatasetLineTooLarge,
    DatasetTooLarge,
    StoreUnavailable,
    UnknownDataset,
)
from channel.jsonweb import error_response, http_error_response, json_response
from channel.service.routing import CHANNEL, NDJSON, drain, reader_of, stream
from channel.store.datasets import Dataset, split_lines
from channel.store.export import ndjson
from channel.store.readers import Reader

log = logging.getLogger(__name__)

RECORDS_HEADER = "X-Dataset-Records"
SHA256_HEADER = "X-Dataset-Sha256"
_ERRORS: list[tuple[type[ChannelError], int, str]] = [
    (BadDatasetName, 400, "bad_dataset_name"),
    (BadDatasetLine, 400, "bad_dataset"),
    (DatasetLineTooLarge, 413, "line_too_large"),
    (DatasetTooLarge, 413, "dataset_too_large"),
    (DatasetExists, 409, "dataset_exists"),
    (UnknownDataset, 404, "unknown_dataset"),
]


def add_dataset_routes(app: web.Application) -> None:
    app.router.add_get("/v1/datasets", list_datasets)
    app.router.add_put("/v1/datasets/{name}", put_dataset, expect_handler=_expect_upload)
    app.router.add_get("/v1/datasets/{name}", get_dataset)
    app.router.add_get("/v1/datasets/{name}/meta", get_dataset_meta)
    app.router.add_delete("/v1/datasets/{name}", delete_dataset)


def _error_response(e: ChannelError) -> web.Response:
    if isinstance(e, StoreUnavailable):
        log.warning("dataset store error: %s", e)
        return error_response(503, "store_unavailable", "the dataset store is unavailable")
    for kind, status, code in _ERRORS:
        if isinstance(e, kind):
            return error_response(status, code, str(e))
    raise e


async def _uploader(request: web.Request) -> Reader | web.Response:
    """The reader that may upload this body, or the answer refusing it."""
    channel, name = request.app[CHANNEL], request.match_info["name"]
    try:
        reader = await reader_of(request)
        if not reader.upload:
            raise web.HTTPForbidden(text=f"reader token {reader.token_id} may not upload datasets")
        if await channel.dataset(name) is not None:
            raise DatasetExists(name)
    except web.HTTPException as e:
        return http_error_response(e)
    except ChannelError as e:
        return _error_response(e)
    length = request.content_length
    if length is not None and length > channel.limits.dataset_bytes:
        return _error_response(DatasetTooLarge(name, length, channel.limits.dataset_bytes))
    return reader


async def _expect_upload(request: web.Request) -> web.Response | None:
    """Answer `Expect: 100-continue`: refuse an upload before its body is sent."""
    refused = await _uploader(request)
    if isinstance(refused, web.Response):
        return refused
    if request.version >= (1, 1) and request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return None


async def put_dataset(request: web.Request) -> web.Response:
    """Store the JSON lines of the body as a new dataset; 201 with its metadata."""
    channel, name = request.app[CHANNEL], request.match_info["name"]
    uploader = await _uploader(request)
    if isinstance(uploader, web.Response):
        response = uploader
    else:
        lines = split_lines(request.content.iter_any(), channel.limits.record_bytes)
        try:
            dataset = await channel.put_dataset(name, lines, uploader.token_id)
        except ChannelError as e:
            response = _error_response(e)
        except ConnectionResetError as e:
            log.info("dataset %s: the upload was cut off: %s", name, e)
            raise web.HTTPBadRequest(text="the upload was cut off before its end") from e
        else:
            log.info(
                "dataset %s uploaded by %s: %d records, %d bytes",
                name,
                uploader.token_id,
                dataset.records,
                dataset.size_bytes,
            )
            response = json_response(dataset.to_wire(), status=201)
            response.headers["Location"] = str(request.rel_url)
    await drain(request, channel.limits.dataset_bytes)
    return response


async def _readable(request: web.Request) -> tuple[Reader, Dataset]:
    """The request's reader and the dataset it names, if that reader may read it;
    outside its scope a dataset is forbidden whether it exists or not."""
    reader = await reader_of(request)
    name = request.match_info["name"]
    dataset = await request.app[CHANNEL].dataset(name)
    if not reader.may_read_dataset(name, dataset.uploaded_by if dataset else ""):
        raise web.HTTPForbidden(text=f"reader token {reader.token_id} may not read dataset {name}")
    if dataset is None:
        raise UnknownDataset(name)
    return reader, dataset


async def list_datasets(request: web.Request) -> web.Response:
    """The metadata of every dataset the reader may read, by name."""
    reader = await reader_of(request)
    try:
        stored = await request.app[CHANNEL].datasets()
    except ChannelError as e:
        return _error_response(e)
    readable = [d.to_wire() for d in stored if reader.may_read_dataset(d.name, d.uploaded_by)]
    return json_response({"datasets": readable})


async def get_dataset_meta(request: web.Request) -> web.Response:
    """A dataset's metadata."""
    try:
        _, dataset = await _readable(request)
    except ChannelError as e:
        return _error_response(e)
    return json_response(dataset.to_wire())


async def get_dataset(request: web.Request) -> web.StreamResponse:
    """A dataset's objects as JSON lines, streamed; its record count and the SHA-256
    of the body come as headers, for the reader to check what arrived."""
    try:
        _, dataset = await _readable(request)
    except ChannelError as e:
        return _error_response(e)
    lines = request.app[CHANNEL].dataset_lines(dataset.name)
    headers = {RECORDS_HEADER: str(dataset.records), SHA256_HEADER: dataset.sha256}
    return await stream(request, ndjson(lines), NDJSON, f"{dataset.name}.jsonl", headers)


async def delete_dataset(request: web.Request) -> web.Response:
    """Remove a dataset: by the token that uploaded it, or one that may upload and
    read every dataset; the removed dataset's metadata."""
    try:
        reader, dataset = await _readable(request)
        if not reader.may_delete_dataset(dataset.uploaded_by):
            raise web.HTTPForbidden(
                text=f"reader token {reader.token_id} may not delete dataset {dataset.name}"
            )
        removed = await request.app[CHANNEL].delete_dataset(dataset.name)
    except ChannelError as e:
        return _error_response(e)
    log.info("dataset %s deleted by %s", removed.name, reader.token_id)
    return json_response(removed.to_wire())
