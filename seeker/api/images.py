"""The Seeker's route for image archives (`GET /api/v1/images/{digest}/archive`).

A Giver that lacks a task's image fetches its archive here. Only an admitted
Giver may, in a request signed with its identity (channel.wire.signed_requests),
and only archives of images in the catalog are served. An archive missing
from the data dir (a catalog entry older than archives, or another Seeker
added it) is saved again from this Seeker's Engine if it has the image.
"""

import logging
import time

from aiohttp import web

from channel.errors import WireError
from channel.jsonweb import error_response
from channel.wire.references import DIGEST
from channel.wire.signed_requests import SignedRequest, archive_path
from seeker.api.parts import parts
from seeker.errors import ImageUnavailable

log = logging.getLogger(__name__)

MIB = 2**20


def add_image_routes(app: web.Application) -> web.AbstractRoute:
    """Add the archive route, which Givers reach with signed requests; return it."""
    return app.router.add_get("/images/{digest}/archive", image_archive)


async def image_archive(request: web.Request) -> web.StreamResponse:
    """The archive of a catalog image, to an admitted Giver's signed request."""
    digest = request.match_info["digest"]
    try:
        signed = SignedRequest.from_headers(request.headers)
    except WireError as e:
        return error_response(401, "unsigned_request", str(e))
    refused = await _refusal(request, signed, archive_path(digest))
    if refused is not None:
        status, code, message = refused
        log.warning("giver %s: archive of %s refused: %s", signed.giver_id, digest, message)
        return error_response(status, code, message)
    catalog = parts(request).catalog
    if not DIGEST.fullmatch(digest) or await catalog.by_digest(digest) is None:
        return error_response(
            404, "unknown_image", f"no image {digest} in this Seeker's scraper catalog"
        )
    archives = catalog.archives
    if not await archives.exists(digest):
        try:
            await archives.save(digest)
        except ImageUnavailable as e:
            return error_response(
                404, "archive_unavailable", f"this Seeker has no archive of image {digest}: {e}"
            )
    path = archives.path(digest)
    log.info("giver %s fetches the archive of image %s", signed.giver_id, digest)
    return web.FileResponse(path, headers={"Content-Type": "application/x-tar"})


async def _refusal(
    request: web.Request, signed: SignedRequest, path: str
) -> tuple[int, str, str] | None:
    """Why the signed request is refused (status, code, message), or None if an
    admitted Giver signed it lately."""
    seeker = parts(request)
    admitted = await seeker.admissions.admitted(signed.giver_id)
    if admitted is None:
        return 403, "not_admitted", f"giver {signed.giver_id} is not admitted by this Seeker"
    if not signed.verifies(admitted["public_key"], request.method, path):
        return 401, "bad_signature", f"the signature does not verify for giver {signed.giver_id}"
    skew_s, max_skew_s = time.time() - signed.signed_at, seeker.config.registration_skew_s
    if abs(skew_s) > max_skew_s:
        return (
            401,
            "stale_signature",
            f"the request was signed {skew_s:+.0f} s from the Seeker's clock; check the "
            f"Giver's clock (allowed skew {max_skew_s:.0f} s)",
        )
    return None
