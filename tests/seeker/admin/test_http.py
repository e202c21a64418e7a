"""The admin pages over plain HTTP against a real Seeker: the server checks a
submitted form again and shows each error next to its field, actions redirect
with a message (or answer a script in JSON), the event stream sends snapshots
and ends cleanly when the Seeker stops, static files are cached by digest."""

import re
from html import unescape as html_unescape

import aiohttp
import pytest

from channel.wire import canonical
from seeker.daemon import Seeker


@pytest.fixture(autouse=True)
async def catalog_scraper(seeker: Seeker, http: aiohttp.ClientSession, catalog_image: str) -> None:
    """The catalog scraper in the Seeker's catalog, for its forms."""
    body = canonical.dumps({"image": catalog_image})
    async with http.post(f"{seeker.url}/api/v1/scrapers", data=body) as response:
        assert response.status == 201


def error_of(html: str, field: str) -> str:
    """The text of the error shown next to `field`, '' if none is."""
    found = re.search(
        rf'<p class="field-error" id="err-{re.escape(field.replace(".", "-"))}"[^>]*>([^<]*)</p>',
        html,
    )
    assert found, f"no error element for {field}"
    return found[1]


GOOD_FORM = {
    "name": "shop",
    "source": "range",
    "range_first": "1",
    "range_last": "10",
    "block_size": "5",
    "priority": "10",
    "replicas": "1",
    "network": "host",
    "settings.base_url": "http://127.0.0.1:9",
    "settings.timeout_s": "5",
    "settings.rate_limit_per_s": "0",
    "settings.key_timeout_s": "30",
}


async def test_the_server_shows_every_bad_field_next_to_it_and_keeps_the_values(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    form = {
        **GOOD_FORM,
        "range_last": "0",
        "block_size": "0",
        "settings.base_url": "",
        "settings.timeout_s": "0",
        "settings.rate_limit_per_s": "fast",
    }
    async with http.post(f"{seeker.url}/admin/scrapers/catalog/jobs", data=form) as response:
        assert response.status == 400
        html = await response.text()
    assert error_of(html, "range_last") == "must be at least the first key"
    assert error_of(html, "block_size") == "must be from 1 to 10,000"
    assert error_of(html, "settings.rate_limit_per_s") == "&#39;fast&#39; is not a number"
    assert error_of(html, "settings.timeout_s") == "0 is less than or equal to the minimum of 0"
    # Left empty, a setting takes its default.
    assert error_of(html, "settings.base_url") == error_of(html, "priority") == ""
    assert 'id="f-name" name="name" type="text" maxlength="200" value="shop"' in html
    assert 'aria-invalid="true"' in html and "The job was not submitted" in html
    async with http.get(f"{seeker.url}/api/v1/jobs") as response:
        assert (await response.json()) == {"jobs": [], "next": None}


async def test_a_good_form_redirects_to_its_job_with_a_message(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    url = f"{seeker.url}/admin/scrapers/catalog/jobs"
    async with http.post(url, data=GOOD_FORM, allow_redirects=False) as response:
        assert response.status == 303
        location = response.headers["Location"]
    assert re.fullmatch(r"/admin/jobs/j[0-9a-f]{12}", location)
    async with http.get(f"{seeker.url}{location}") as response:
        html = await response.text()
    assert "Job shop submitted: 10 keys in 2 blocks." in html
    async with http.get(f"{seeker.url}{location}") as response:
        assert "submitted: 10 keys" not in await response.text()
    async with http.get(f"{seeker.url}/api/v1{location.removeprefix('/admin')}") as response:
        job = await response.json()
    assert job["spec"]["settings"] == {
        "base_url": "http://127.0.0.1:9",
        "timeout_s": 5,
        "rate_limit_per_s": 0,
        "key_timeout_s": 30,
    }
    assert (job["spec"]["network"], job["spec"]["block_size"], job["keys"]["total"]) == (
        "host",
        5,
        10,
    )


SCHEDULE_FORM = {
    "name": "nightly",
    "timing": "every",
    "every_min": "1440",
    "timezone": "UTC",
    "overlap": "skip",
    "job": '{"scraper": "catalog", "range": [1, 10], "settings": {"base_url": "http://127.0.0.1:9"}}',
}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": " "}, "name", "required"),
        ({"every_min": "0"}, "every_min", "must be from 1 to 527,040"),
        ({"every_min": "often"}, "every_min", "enter a whole number of minutes"),
        ({"timing": "cron", "cron": ""}, "cron", "required: five fields, such as 0 3 * * *"),
        ({"timing": "cron", "cron": "0 3 * *"}, "cron", "has 4 field(s); it needs five"),
        (
            {"timing": "cron", "cron": "0 3 * * *", "timezone": "Mars/Olympus"},
            "timezone",
            "is not an IANA time zone name",
        ),
        ({"overlap": "queue"}, "overlap", "choose one of skip, allow"),
        ({"job": "{"}, "job", "not valid JSON"),
        ({"job": "[1]"}, "job", "must be a JSON object"),
        ({"job": '{"scraper": "nothere", "range": [1, 2]}'}, "job", "job: "),
        ({"job": '{"scraper": "catalog"}'}, "job", "job: no keys"),
    ],
)
async def test_the_schedule_form_shows_what_is_wrong_next_to_its_field(
    seeker: Seeker, http: aiohttp.ClientSession, changes: dict[str, str], field: str, message: str
) -> None:
    url = f"{seeker.url}/admin/schedules"
    async with http.post(url, data={**SCHEDULE_FORM, **changes}) as response:
        assert response.status == 400
        html = await response.text()
    assert message in error_of(html, field).replace("&#39;", "'")
    assert "The schedule was not added" in html
    async with http.get(f"{seeker.url}/api/v1/schedules") as response:
        assert (await response.json()) == {"schedules": []}


async def test_a_good_schedule_form_adds_the_schedule(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    url = f"{seeker.url}/admin/schedules"
    async with http.post(url, data=SCHEDULE_FORM, allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (303, "/admin/schedules")
    async with http.get(f"{seeker.url}/api/v1/schedules") as response:
        [schedule] = (await response.json())["schedules"]
    assert (schedule["name"], schedule["every_s"], schedule["overlap"]) == (
        "nightly",
        86400,
        "skip",
    )
    assert schedule["job"]["range"] == [1, 10]
    async with http.get(url) as response:
        html = await response.text()
    assert "Schedule nightly added; its first job is made at " in html
    async with http.post(url, data=SCHEDULE_FORM) as response:
        assert response.status == 400
        assert "exists already" in error_of(await response.text(), "name")


async def test_actions_answer_with_a_redirect_or_with_json(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    url = f"{seeker.url}/admin/jobs/jnothere/pause"
    async with http.post(url, data={"next": "/admin/jobs"}, allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (303, "/admin/jobs")
    async with http.get(f"{seeker.url}/admin/jobs") as response:
        assert "no job &#39;jnothere&#39;" in await response.text()
    async with http.post(url, headers={"Accept": "application/json"}) as response:
        assert response.status == 404
        assert await response.json() == {"kind": "error", "message": "no job 'jnothere'"}
    # A `next` that leaves the admin pages is not followed.
    data = {"next": "//elsewhere.example/"}
    async with http.post(url, data=data, allow_redirects=False) as response:
        assert response.headers["Location"] == "/admin/jobs/jnothere"


async def test_the_jobs_page_lists_the_jobs_newest_first_a_page_at_a_time(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    ids = []
    for name in ("first", "second", "third"):
        body = canonical.dumps({"image": "x:1", "keys": ["a"], "name": name})
        async with http.post(f"{seeker.url}/api/v1/jobs", data=body) as response:
            ids.append((await response.json())["job_id"])

    async def rows(path: str) -> tuple[list[str], str | None]:
        """The jobs a page lists, and where its *Older jobs* link goes."""
        async with http.get(f"{seeker.url}{path}") as response:
            html = await response.text()
        older = re.search(r'<a class="btn" href="([^"]+)">Older jobs</a>', html)
        listed = re.findall(r'<tr data-job-id="(j[0-9a-f]+)"', html)
        return listed, html_unescape(older[1]) if older else None

    listed, older = await rows("/admin/jobs?limit=2")
    assert listed == [ids[2], ids[1]] and older is not None
    assert await rows(f"{older}&limit=2") == ([ids[0]], None)

    url = f"{seeker.url}/admin/jobs/{ids[0]}/delete"
    async with http.post(url, allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (303, "/admin/jobs")
    async with http.get(f"{seeker.url}/admin/jobs") as response:
        assert f"job {ids[0]} is running; only a done or cancelled job" in await response.text()
    assert len((await rows("/admin/jobs"))[0]) == 3


async def test_pages_carry_security_headers_and_static_files_are_cached_by_digest(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{seeker.url}/", allow_redirects=False) as response:
        assert (response.status, response.headers["Location"]) == (302, "/admin/")
    async with http.get(f"{seeker.url}/admin/") as response:
        html = await response.text()
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    [css] = re.findall(r'href="(/admin/static/admin\.css\?v=[0-9a-f]+)"', html)
    async with http.get(f"{seeker.url}{css}") as response:
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.content_type == "text/css"
        etag = response.headers["ETag"]
    async with http.get(f"{seeker.url}{css}", headers={"If-None-Match": etag}) as response:
        assert response.status == 304
    async with http.get(f"{seeker.url}/admin/static/nothere.js") as response:
        assert response.status == 404


async def test_the_event_stream_sends_snapshots_and_ends_when_the_seeker_stops(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{seeker.url}/admin/events") as response:
        assert response.content_type == "text/event-stream"
        assert await response.content.readline() == b"retry: 2000\n"
        assert await response.content.readline() == b"\n"
        assert await response.content.readline() == b"event: snapshot\n"
        data = await response.content.readline()
        snapshot = canonical.loads(data.removeprefix(b"data: "))
        assert snapshot["overview"]["jobs"]["running"] == 0 and snapshot["jobs"] == []
        assert snapshot["overview"]["givers"]["registered"] == 0
        assert "at" not in snapshot["overview"]
        await seeker.stop()
        # The stream ends as a whole response: no error for a cut-off body.
        assert await response.content.read() == b"\n"
        assert response.content.at_eof()
