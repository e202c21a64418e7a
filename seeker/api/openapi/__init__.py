"""The OpenAPI 3.1 document of the Seeker's JSON API, made once and served at
GET /api/v1/openapi.json to anyone.

Each module describes one tag's operations (and the schemas they name) as
Python data; seeker.api.openapi.shapes has the building blocks and the answers
every operation shares."""

from typing import Any

from aiohttp import web

from channel.wire import canonical
from seeker.api.openapi import (
    following,
    givers,
    jobs,
    operator,
    schedules,
    scrapers,
    service,
    tokens,
)
from seeker.api.openapi.shapes import Operation, error_schema

OPENAPI = web.AppKey("openapi", bytes)
_TAGS = {
    service.TAG: "The Seeker itself: who leads, its key, this document.",
    jobs.TAG: "Submit, follow, steer, export, dump and load jobs.",
    following.TAG: "The grid at a glance, a job's blocks, disagreements and records, diagnostics.",
    givers.TAG: "What Givers call, and what operators do to Givers.",
    tokens.TAG: "Admission tokens for Givers; reader tokens for the Channel.",
    scrapers.TAG: "The catalog of scraper images.",
    schedules.TAG: "Schedules of periodic jobs.",
    operator.TAG: "Who is asking; operator tokens; the password.",
}
_DESCRIPTION = """\
The JSON API of a seekgive Seeker, under /api/v1.

Every operation needs an operator: `Authorization: Bearer TOKEN` (`seeker run`
writes one to DATA_DIR/operator.token at first start; `seeker operator token
issue` makes more), or the admin page's session cookie with its CSRF token
(header `X-CSRF-Token`) on changes. Operations marked public are for Givers,
which prove who they are by signatures, and for tools reading this document.

Every error is `{"code": WORD, "message": ONE_LINE}` with a fitting status.
A Seeker standing by (another one leads) answers 503 `not_leader` to all but
GET /api/v1/leader."""


def operations() -> list[Operation]:
    """Every operation of the API, by tag."""
    return [
        *service.operations(),
        *jobs.operations(),
        *following.operations(),
        *givers.operations(),
        *tokens.operations(),
        *scrapers.operations(),
        *schedules.operations(),
        *operator.operations(),
    ]


def document() -> dict[str, Any]:
    """The OpenAPI document, as plain data."""
    paths: dict[str, dict[str, Any]] = {}
    for op in operations():
        methods = paths.setdefault(op.path, {})
        if op.method.lower() in methods:
            raise ValueError(f"{op.method} {op.path} is described twice")
        methods[op.method.lower()] = op.to_openapi()
    return {
        "openapi": "3.1.0",
        "info": {"title": "seekgive Seeker API", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": text} for name, text in _TAGS.items()],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an operator token (sgo_...)",
                }
            },
            "schemas": {
                "Error": error_schema(),
                **jobs.schemas(),
                **givers.schemas(),
                **tokens.schemas(),
                **scrapers.schemas(),
                **schedules.schemas(),
                **operator.schemas(),
            },
        },
    }


def add_openapi_route(app: web.Application) -> web.AbstractRoute:
    """Serve the document, made now, at /openapi.json of `app`; the route."""
    app[OPENAPI] = canonical.dumps(document())
    return app.router.add_get("/openapi.json", openapi_document)


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")
