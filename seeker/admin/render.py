"""Pages from jinja2 templates (autoescaped, loaded once at startup), with what
every page shows: the navigation, the flash message, the CSRF token and the
numbers formatted for people (seeker.views.display)."""

import asyncio
import time
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from seeker.access.auth import OPERATOR
from seeker.admin.flash import FLASH_COOKIE, take_flash
from seeker.views import display

TEMPLATES = web.AppKey("templates", jinja2.Environment)
NAV = (
    ("overview", "Overview", "/admin/"),
    ("givers", "Givers", "/admin/givers"),
    ("jobs", "Jobs", "/admin/jobs"),
    ("scrapers", "Scrapers", "/admin/scrapers"),
    ("schedules", "Schedules", "/admin/schedules"),
    ("tokens", "Admission tokens", "/admin/tokens"),
)


def moment(at: float | None) -> Markup:
    """A `<time>` showing how long ago `at` was, the full time in its title; the page's
    script keeps the relative text current."""
    if not at:
        return Markup("<span>never</span>")
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    return Markup('<time datetime="{}" data-at="{}" title="{}">{}</time>').format(
        iso, f"{at:.3f}", display.stamp_utc(at), display.ago(at, time.time())
    )


def short_id(value: str, keep: int = 12) -> Markup:
    """A long id cut to `keep` characters, the whole id in its title."""
    if len(value) <= keep:
        return Markup("<code>{}</code>").format(value)
    return Markup('<code title="{}">{}\u2026</code>').format(value, value[:keep])


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("seeker.admin", "templates"),
        autoescape=True,
        auto_reload=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        count=display.count,
        rate=display.rate,
        duration=display.duration,
        latency=display.latency,
        size=display.size,
        percent=display.percent,
        stamp=display.stamp_utc,
        short_id=short_id,
    )
    env.globals.update(moment=moment, nav=NAV)
    return env


async def load_templates(env: jinja2.Environment) -> None:
    """Read and compile every template off the event loop, once."""

    def load() -> None:
        for name in env.list_templates(extensions=["html"]):
            env.get_template(name)

    await asyncio.to_thread(load)


def page(
    request: web.Request, template: str, *, status: int = 200, section: str = "", **context: Any
) -> web.Response:
    """Render `template` as the answer to `request`; `section` is the page's entry in
    the navigation."""
    flash = take_flash(request)
    operator = request.get(OPERATOR)
    html = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(
            request=request,
            path=request.path,
            csrf_token=operator.csrf if operator is not None else "",
            signed_in=operator is not None,
            flash=flash,
            section=section,
            **context,
        )
    )
    response = web.Response(text=html, status=status, content_type="text/html")
    if flash is not None:
        response.del_cookie(FLASH_COOKIE, path="/admin/")
    return response
