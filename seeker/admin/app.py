"""The admin app: its routes, its templates and static files, the live feed it
owns, and what every answer gets (security headers; a page for errors, never a
traceback)."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from channel.errors import StoreUnavailable
from seeker.access.auth import PUBLIC_ROUTES, public_routes, unauthorized
from seeker.admin import givers, jobs, login, overview, schedules, scrapers, tokens
from seeker.admin.assets import ASSETS, load_assets, serve_asset
from seeker.admin.events import FEED, events
from seeker.admin.live import LiveFeed
from seeker.admin.render import TEMPLATES, load_templates, make_templates, page
from seeker.api.errors import error_status
from seeker.api.parts import PARTS, Parts
from seeker.errors import SeekerError
from seeker.pages.html import SECURITY_HEADERS
from seeker.state.base import Leader

log = logging.getLogger(__name__)


def make_admin(seeker: Parts) -> web.Application:
    """The admin pages, to mount at /admin/; anyone may reach the static files and
    the sign-in page (`app[PUBLIC_ROUTES]`), the rest needs an operator."""
    app = web.Application(middlewares=[_headers, _standby(seeker.leader), _error_pages])
    app[PARTS] = seeker
    app[TEMPLATES] = make_templates()
    app[FEED] = LiveFeed(seeker)
    app.cleanup_ctx.append(_resources)
    app.on_shutdown.append(_close_streams)
    static = app.router.add_get("/static/{name}", serve_asset)
    app.router.add_get("/events", events)
    for module in (overview, givers, jobs, scrapers, schedules, tokens):
        module.add_routes(app.router)
    app[PUBLIC_ROUTES] = public_routes([static, *login.add_routes(app.router)])
    return app


async def root_redirect(request: web.Request) -> web.Response:
    """`/`: the admin pages."""
    raise web.HTTPFound("/admin/")


def refuse_page(request: web.Request, message: str) -> web.StreamResponse:
    """A request without an operator: a page of the admin app sends the browser to
    sign in (and back afterwards); anything else (the event stream too) is a 401."""
    if not request.path.startswith("/admin/") or request.path == "/admin/events":
        return unauthorized(request, message)
    target = request.path_qs if request.method in ("GET", "HEAD") else "/admin/"
    return web.Response(
        status=303, headers={"Location": f"/admin/login?{urlencode({'next': target})}"}
    )


async def _resources(app: web.Application) -> AsyncIterator[None]:
    """Templates and static files read, the live feed running; the feed stopped at
    the end."""
    await load_templates(app[TEMPLATES])
    app[ASSETS] = await load_assets()
    app[TEMPLATES].globals["static_url"] = app[ASSETS].url
    feed = app[FEED]
    task = asyncio.create_task(feed.run(), name="admin-live-feed")
    yield
    feed.closing.set()
    await task


async def _close_streams(app: web.Application) -> None:
    """The Seeker is shutting down: end every event stream now rather than at the
    server's shutdown timeout."""
    app[FEED].closing.set()


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
    return response


def _standby(leader: Callable[[], Leader | None]) -> Middleware:
    """A Seeker standing by shows only where the leader is."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        current = leader()
        if current is None or request.path.startswith("/admin/static/"):
            return await handler(request)
        return page(request, "standby.html", status=503, leader=current)

    return middleware


@web.middleware
async def _error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors as pages: the Seeker's own with their status and message, anything
    unexpected as a plain 500."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400 or request.path.startswith("/admin/static/"):
            raise
        return page(request, "error.html", status=e.status, title=e.reason, message=e.text)
    except StoreUnavailable as e:
        return page(request, "error.html", status=503, title="Store unavailable", message=str(e))
    except SeekerError as e:
        status = (error_status(e) or (500, ""))[0]
        title = HTTPStatus(status).phrase
        return page(request, "error.html", status=status, title=title, message=str(e))
    except Exception:
        log.exception("admin page %s %s failed", request.method, request.path)
        return page(
            request,
            "error.html",
            status=500,
            title="Something went wrong",
            message="The Seeker could not show this page; its log says why.",
        )
