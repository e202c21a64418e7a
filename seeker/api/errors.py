"""How the Seeker's own errors are answered, by the JSON API and the admin pages
alike: one table of statuses and codes, and the middleware that uses it."""

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from channel.errors import StoreUnavailable
from channel.jsonweb import error_response
from seeker.errors import (
    ArchiveError,
    BadCursor,
    ImageUnavailable,
    InvalidForm,
    InvalidJob,
    InvalidOperatorRequest,
    InvalidQuery,
    InvalidSchedule,
    InvalidScraper,
    InvalidState,
    InvalidTokenRequest,
    JobConflict,
    NotAdmitted,
    NotPending,
    NotReplayable,
    OwnOperatorToken,
    ResultsElsewhere,
    SeekerError,
    StateUnavailable,
    UnknownBlock,
    UnknownJob,
    UnknownKey,
    UnknownOperatorToken,
    UnknownReader,
    UnknownSchedule,
    UnknownScraper,
    UnknownToken,
)

log = logging.getLogger(__name__)

_ERRORS: list[tuple[type[SeekerError], int, str]] = [
    (InvalidJob, 400, "invalid_job"),
    (InvalidForm, 400, "invalid_form"),
    (InvalidState, 400, "invalid_state"),
    (UnknownJob, 404, "unknown_job"),
    (UnknownBlock, 404, "unknown_block"),
    (UnknownKey, 404, "unknown_key"),
    (NotReplayable, 409, "not_replayable"),
    (JobConflict, 409, "job_conflict"),
    (ResultsElsewhere, 409, "results_elsewhere"),
    (InvalidTokenRequest, 400, "invalid_token_request"),
    (UnknownToken, 404, "unknown_token"),
    (UnknownReader, 404, "unknown_reader"),
    (NotPending, 404, "not_pending"),
    (NotAdmitted, 404, "not_admitted"),
    (StateUnavailable, 503, "state_unavailable"),
    (InvalidScraper, 400, "invalid_scraper"),
    (UnknownScraper, 404, "unknown_scraper"),
    (ImageUnavailable, 404, "image_unavailable"),
    (InvalidSchedule, 400, "invalid_schedule"),
    (UnknownSchedule, 404, "unknown_schedule"),
    (ArchiveError, 500, "archive_error"),
    (InvalidOperatorRequest, 400, "invalid_operator_request"),
    (UnknownOperatorToken, 404, "unknown_operator_token"),
    (OwnOperatorToken, 409, "own_operator_token"),
    (BadCursor, 400, "bad_cursor"),
    (InvalidQuery, 400, "invalid_query"),
]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def seeker_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer the Seeker's own errors with their status and a JSON body."""
    try:
        return await handler(request)
    except ConnectionResetError as e:
        # The client went away mid-request (an upload it could not finish, say).
        log.info("%s %s: the client went away: %s", request.method, request.path, e)
        raise web.HTTPBadRequest(text="the request was cut off before its end") from e
    except web.HTTPRequestEntityTooLarge:
        limit = request.client_max_size / 2**20
        return error_response(
            413,
            "request_entity_too_large",
            f"the request body is over the API's limit of {limit:g} MiB; send a job's keys "
            "as a file instead (seeker submit --keys-file FILE, or a multipart 'keys' part)",
        )
    except StoreUnavailable as e:
        return error_response(503, "store_unavailable", str(e))
    except SeekerError as e:
        known = error_status(e)
        if known is None:
            raise
        return error_response(*known, str(e))


def error_status(e: SeekerError) -> tuple[int, str] | None:
    """The HTTP status and error code the Seeker answers `e` with, if it is one it
    answers."""
    for kind, status, code in _ERRORS:
        if isinstance(e, kind):
            return status, code
    return None
