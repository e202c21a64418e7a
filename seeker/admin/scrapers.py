"""The scrapers pages: the catalog (add, remove), and per scraper the form that
submits a job of it, checked in the browser and again here, every field's error
shown next to it."""

import time

from aiohttp import web

from seeker.admin.flash import act, redirect
from seeker.admin.render import page
from seeker.admin.submit_form import (
    SETTING,
    WHOLE_FIELDS,
    default_values,
    html_bounds,
    job_body,
    spec_error,
)
from seeker.api.parts import parts
from seeker.catalog.entries import Scraper
from seeker.catalog.forms import form_fields
from seeker.errors import InvalidForm, InvalidJob, InvalidScraper
from seeker.grid import actions
from seeker.work.sources import MAX_KEY, MIN_KEY

BACK = "/admin/scrapers"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/scrapers", list_scrapers)
    router.add_post("/scrapers", add_scraper)
    router.add_get("/scrapers/{name}", show_form)
    router.add_post("/scrapers/{name}/jobs", submit)
    router.add_post("/scrapers/{name}/remove", remove_scraper)


async def list_scrapers(request: web.Request) -> web.Response:
    scrapers = await parts(request).catalog.list()
    return page(
        request,
        "scrapers.html",
        section="scrapers",
        title="Scrapers",
        scrapers=sorted(scrapers, key=lambda s: s.name),
        now=time.time(),
    )


async def add_scraper(request: web.Request) -> web.Response:
    image = (await request.post()).get("image", "")

    async def add() -> str:
        if not isinstance(image, str) or not image.strip():
            raise InvalidScraper("give an image as REPOSITORY:TAG", name="")
        entry = await parts(request).catalog.add(image.strip())
        return f"Scraper {entry.name} added from {image.strip()}."

    return await act(request, BACK, add())


async def remove_scraper(request: web.Request) -> web.Response:
    name = request.match_info["name"]

    async def remove() -> str:
        await parts(request).catalog.remove(name)
        return f"Scraper {name} removed from the catalog."

    return await act(request, BACK, remove())


async def show_form(request: web.Request) -> web.Response:
    entry = await parts(request).catalog.get(request.match_info["name"])
    return _form_page(request, entry, default_values(entry), {})


async def submit(request: web.Request) -> web.Response:
    seeker = parts(request)
    entry = await seeker.catalog.get(request.match_info["name"])
    posted = await request.post()
    values = {name: value for name, value in posted.items() if isinstance(value, str)}
    try:
        body = job_body(entry, values)
        try:
            job = await actions.submit(
                seeker.coordinator, seeker.catalog, body, scratch_dir=seeker.config.scratch_dir
            )
        except InvalidJob as e:
            raise spec_error(e) from e
    except InvalidForm as e:
        return _form_page(request, entry, values, e.errors, status=400)
    return redirect(
        f"/admin/jobs/{job.job_id}",
        f"Job {job.spec.name or job.job_id} submitted: {job.total:,} keys in "
        f"{job.block_count:,} blocks.",
    )


def _form_page(
    request: web.Request,
    entry: Scraper,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
) -> web.Response:
    fields = [
        (SETTING + field.name, field, html_bounds(field)) for field in form_fields(entry.schema)
    ]
    known = {"name", "keys", "range_first", "range_last", "network", *WHOLE_FIELDS}
    known.update(key for key, _, _ in fields)
    return page(
        request,
        "scraper.html",
        status=status,
        section="scrapers",
        title=f"New job of {entry.name}",
        entry=entry,
        fields=fields,
        values=values,
        errors=errors,
        stray=[message for where, message in errors.items() if where not in known],
        whole_fields=WHOLE_FIELDS,
        key_bounds=(MIN_KEY, MAX_KEY - 1),
    )
