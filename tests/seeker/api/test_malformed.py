"""Requests the OpenAPI fuzzer found answered wrongly, over real HTTP: malformed
ones got a 500 (now a 4xx with a one-line reason, and nothing is created), a
method a route does not take got a 405 without the `Allow` header."""

import io

import aiohttp
import pytest

from channel.wire import canonical
from seeker.daemon import Seeker

JOB_PART = b'--b\r\nContent-Disposition: form-data; name="job"\r\n\r\n{"image": "x:1"}'


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("multipart/form-data", b"job", "boundary missed"),
        ("multipart/form-data; boundary=b", b"no boundary here", "starting boundary"),
        ("multipart/form-data; boundary=b", b"--b\r\nX: \x0b\r\n\r\n{}\r\n--b--\r\n", "header"),
        ("multipart/form-data; boundary=b", JOB_PART, "after EOF"),
    ],
    ids=["no-boundary", "no-starting-boundary", "bad-part-header", "cut-short"],
)
async def test_a_malformed_multipart_job_is_a_400_and_creates_nothing(
    seeker: Seeker, http: aiohttp.ClientSession, content_type: str, body: bytes, reason: str
) -> None:
    api = f"{seeker.url}/api/v1"
    async with http.post(f"{api}/jobs", data=body, headers={"Content-Type": content_type}) as r:
        status, answer = r.status, canonical.loads(await r.read())
    assert status == 400, answer
    assert answer["code"] == "invalid_job"
    assert answer["message"].startswith("the multipart body is malformed: ")
    assert reason in answer["message"] and "\n" not in answer["message"]
    async with http.get(f"{api}/jobs") as r:
        assert (await r.json())["jobs"] == []


async def test_a_method_a_route_does_not_take_is_a_405_naming_those_it_does(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    async with http.request("TRACE", f"{seeker.url}/api/v1/jobs") as r:
        status, answer, allow = r.status, await r.json(), r.headers.get("Allow", "")
    assert status == 405
    assert answer["code"] == "method_not_allowed"
    assert set(allow.split(",")) == {"GET", "HEAD", "POST"}, allow


async def test_inline_keys_up_to_the_documented_16_mib_are_read_and_beyond_are_a_413(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    api = f"{seeker.url}/api/v1"
    keys = [f"key-{n:07d}" for n in range(100_000)]
    body = canonical.dumps({"image": "x:1", "keys": keys})
    assert len(body) > 1.2e6
    async with http.post(f"{api}/jobs", data=io.BytesIO(body)) as r:
        assert r.status == 201, await r.text()
        assert (await r.json())["keys"]["total"] == len(keys)

    def padded(size: int) -> io.BytesIO:
        start, end = b'{"image": "x:1", "keys": ["a"], "pad": "', b'"}'
        return io.BytesIO(start + b"x" * (size - len(start) - len(end)) + end)

    async with http.post(f"{api}/jobs", data=padded(16 * 2**20)) as r:
        status, answer = r.status, await r.json()
    assert (status, answer["code"]) == (400, "invalid_job"), answer
    assert "pad" in answer["message"]
    async with http.post(f"{api}/jobs", data=padded(16 * 2**20 + 1)) as r:
        status, answer = r.status, await r.json()
    assert (status, answer["code"]) == (413, "request_entity_too_large"), answer
    assert answer["message"] == (
        "the request body is over the API's limit of 16 MiB; send a job's keys as a file "
        "instead (seeker submit --keys-file FILE, or a multipart 'keys' part)"
    )
