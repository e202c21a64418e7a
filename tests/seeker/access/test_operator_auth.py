"""Who may use the Seeker's API, over real HTTP: operators by bearer token or by
session cookie with its CSRF token; Givers' routes stay open; the CLI finds its
token."""

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.base import BIN, OPERATOR_TOKEN

from channel.wire import canonical
from seeker.access.auth import CSRF_HEADER, SESSION_COOKIE
from seeker.access.operators import Operators
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.state.factory import open_state

pytestmark = pytest.mark.seeker_config(operator_token="")

JOB = {"image": "seekgive/catalog:1", "keys": ["1", "2"], "block_size": 1}


def token_of(seeker: Seeker) -> str:
    return seeker.config.operator_token_path.read_text().strip()


async def call(
    seeker: Seeker, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as http:
        data = None if body is None else canonical.dumps(body)
        async with http.request(
            method, f"{seeker.url}{path}", data=data, headers=headers
        ) as response:
            raw = await response.read()
            return response.status, canonical.loads(raw) if raw else None, response


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/jobs"),
        ("POST", "/api/v1/jobs"),
        ("GET", "/api/v1/givers"),
        ("POST", "/api/v1/tokens"),
        ("GET", "/api/v1/operator/tokens"),
        ("PUT", "/api/v1/operator/password"),
        ("GET", "/api/v1/scrapers"),
        ("GET", "/api/v1/no-such-route"),
        ("GET", "/api/v1/diagnostics"),
        ("GET", "/api/v1/overview"),
        ("GET", "/metrics"),
    ],
)
async def test_without_an_operator_token_every_operator_route_is_refused(
    seeker: Seeker, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer sgo_wrong"}, {"Authorization": "Basic eDp5"}):
        status, body, response = await call(seeker, method, path, JOB, **headers)
        assert status == 401, (path, headers)
        assert body["code"] == "unauthorized" and "Bearer" in body["message"]
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="seekgive"'
    status, _, _ = await call(
        seeker, "GET", "/api/v1/jobs", Authorization=f"Bearer {token_of(seeker)}"
    )
    assert status == 200


async def test_givers_routes_stay_open_and_prove_who_asks_by_signatures(seeker: Seeker) -> None:
    assert (await call(seeker, "GET", "/api/v1/leader"))[0] == 200
    assert (await call(seeker, "GET", "/api/v1/identity"))[0] == 200
    assert (await call(seeker, "GET", "/healthz"))[0] == 200
    status, body, _ = await call(seeker, "POST", "/api/v1/givers", {"giver_id": "x"})
    assert status == 400 and body["code"] == "registration_refused"
    status, body, _ = await call(seeker, "GET", f"/api/v1/images/sha256:{'0' * 64}/archive")
    assert status == 401 and body["code"] != "unauthorized"


async def test_an_issued_token_works_until_revoked_and_the_list_shows_no_secret(
    seeker: Seeker,
) -> None:
    root = {"Authorization": f"Bearer {token_of(seeker)}"}
    status, issued, _ = await call(
        seeker, "POST", "/api/v1/operator/tokens", {"label": "ci"}, **root
    )
    assert status == 201
    mine = {"Authorization": f"Bearer {issued['token']}"}
    status, me, _ = await call(seeker, "GET", "/api/v1/operator", **mine)
    assert status == 200 and me == {"via": f"token {issued['token_id']}", "session": False}
    _, listed, _ = await call(seeker, "GET", "/api/v1/operator/tokens", **root)
    assert [t["label"] for t in listed["tokens"]] == ["written at first start", "ci"]
    assert "hash" not in str(listed) and issued["token"] not in str(listed)
    revoke = f"/api/v1/operator/tokens/{issued['token_id']}/revoke"
    assert (await call(seeker, "POST", revoke, {}, **root))[0] == 200
    assert (await call(seeker, "GET", "/api/v1/jobs", **mine))[0] == 401
    status, body, _ = await call(seeker, "POST", revoke, {}, **root)
    assert status == 404 and body["code"] == "unknown_operator_token"
    status, body, _ = await call(seeker, "POST", "/api/v1/operator/tokens", {"uses": 1}, **root)
    assert status == 400 and body["code"] == "invalid_operator_request"


async def session_cookie(seeker: Seeker) -> str:
    """A session cookie, made as the login page makes one, beside the Seeker."""
    store = await open_state(seeker.config.seeker_state_url)
    try:
        return await Operators(store).log_in(token_of(seeker), "127.0.0.1", time.time())
    finally:
        await store.close()


async def test_a_session_cookie_changes_nothing_without_its_csrf_token_or_from_elsewhere(
    seeker: Seeker,
) -> None:
    root = {"Authorization": f"Bearer {token_of(seeker)}"}
    job = (await call(seeker, "POST", "/api/v1/jobs", JOB, **root))[1]
    cookie = {"Cookie": f"{SESSION_COOKIE}={await session_cookie(seeker)}"}
    status, me, _ = await call(seeker, "GET", "/api/v1/operator", **cookie)
    assert status == 200 and me["session"] is True
    pause = f"/api/v1/jobs/{job['job_id']}/pause"
    status, body, _ = await call(seeker, "POST", pause, {}, **cookie)
    assert status == 403 and body["code"] == "csrf_failed"
    status, body, _ = await call(seeker, "POST", pause, {}, **cookie, **{CSRF_HEADER: "0" * 64})
    assert status == 403 and body["code"] == "csrf_failed"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{seeker.url}{pause}", data={"csrf_token": "0" * 64}, headers=cookie
        ) as response:
            assert response.status == 403
    assert (await call(seeker, "GET", f"/api/v1/jobs/{job['job_id']}", **root))[1]["status"] != (
        "paused"
    )
    csrf = await csrf_of(seeker, cookie)
    status, body, _ = await call(
        seeker, "POST", pause, {}, **cookie, **{CSRF_HEADER: csrf}, Origin="http://evil.example"
    )
    assert status == 403 and "evil.example" in body["message"]
    status, body, _ = await call(seeker, "POST", pause, {}, **cookie, **{CSRF_HEADER: csrf})
    assert status == 200 and body["status"] == "paused"


async def csrf_of(seeker: Seeker, cookie: dict[str, str]) -> str:
    store = await open_state(seeker.config.seeker_state_url)
    try:
        value = cookie["Cookie"].partition("=")[2]
        session = await Operators(store).session(value, time.time())
        assert session is not None
        return session.csrf
    finally:
        await store.close()


async def test_the_cli_finds_the_token_the_seeker_wrote_in_its_default_data_dir(
    tmp_path: Path,
) -> None:
    async with Seeker(SeekerConfig(port=0, data_dir=tmp_path / "seeker-data")) as seeker:
        env = {k: v for k, v in os.environ.items() if k != "SEEKGIVE_TOKEN"}
        status = [BIN / "seeker", "--seeker", seeker.url, "status"]
        code, out, err = await run_in(tmp_path, env, *status)
        assert code == 0, err
        code, out, err = await run_in(tmp_path.parent, env, *status)
        assert code == 1 and "this needs an operator" in err and "SEEKGIVE_TOKEN" in err
        env_token = {**env, "SEEKGIVE_TOKEN": token_of(seeker)}
        issue = [BIN / "seeker", "--seeker", seeker.url, "operator", "token", "issue"]
        code, token, err = await run_in(tmp_path.parent, env_token, *issue, "--label", "laptop")
        assert code == 0 and "shown only now" in err
        token_file = tmp_path / "laptop.token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        listing = ["operator", "token", "list"]
        code, out, err = await run_in(
            tmp_path.parent,
            env,
            BIN / "seeker",
            "--seeker",
            seeker.url,
            "--token-file",
            token_file,
            *listing,
        )
        assert code == 0 and "'laptop'" in out and token.strip() not in out
        code, out, err = await run_in(
            tmp_path.parent, env, BIN / "seeker", "--token-file", tmp_path / "none", "status"
        )
        assert code == 1 and "cannot read the token file" in err


async def run_in(cwd: Path, env: dict[str, str], *argv: object) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *map(str, argv),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_cli_sets_the_password_refusing_a_short_one(tmp_path: Path) -> None:
    config = SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path)
    async with Seeker(config) as seeker:
        assert not config.operator_token_path.exists()
        password = [BIN / "seeker", "--seeker", seeker.url, "operator", "password", "--stdin"]
        code, _, err = await feed(b"short\n", *password)
        assert code == 1 and "12 to 1024 characters" in err
        code, out, err = await feed(b"a long enough password\n", *password)
        assert code == 0 and "signed out" in out, err
        store = await open_state(config.seeker_state_url)
        try:
            operators = Operators(store)
            assert await operators.log_in("a long enough password", "127.0.0.1", time.time())
        finally:
            await store.close()


async def feed(stdin: bytes, *argv: object) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *map(str, argv),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_signing_in_on_the_page_sets_a_strict_http_only_cookie_and_signing_out_ends_it(
    seeker: Seeker,
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{seeker.url}/admin/jobs?x=1", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/admin/login?next=%2Fadmin%2Fjobs%3Fx%3D1"
        async with http.get(f"{seeker.url}/admin/events") as response:
            assert response.status == 401
        form = {"secret": token_of(seeker), "next": "https://evil.example/admin/"}
        async with http.post(
            f"{seeker.url}/admin/login", data=form, allow_redirects=False
        ) as response:
            assert (response.status, response.headers["Location"]) == (303, "/admin/")
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        async with http.get(f"{seeker.url}/admin/jobs") as response:
            assert response.status == 200
            html = await response.text()
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
        assert csrf is not None
        async with http.post(f"{seeker.url}/admin/logout", allow_redirects=False) as response:
            assert response.status == 403
        async with http.post(
            f"{seeker.url}/admin/logout", data={"csrf_token": csrf[1]}, allow_redirects=False
        ) as response:
            assert (response.status, response.headers["Location"]) == (303, "/admin/login")
        async with http.get(f"{seeker.url}/admin/jobs", allow_redirects=False) as response:
            assert response.status == 303


async def test_the_sign_in_page_refuses_wrong_secrets_then_makes_the_address_wait(
    seeker: Seeker,
) -> None:
    async with aiohttp.ClientSession() as http:
        login = f"{seeker.url}/admin/login"
        async with http.post(
            login, data={"secret": "x"}, headers={"Origin": "http://evil.example"}
        ) as r:
            assert r.status == 403
        for _ in range(4):
            async with http.post(login, data={"secret": "wrong"}) as response:
                assert response.status == 401
                assert "Wrong password or token" in await response.text()
        async with http.post(login, data={"secret": "wrong"}) as response:
            assert response.status == 429 and response.headers["Retry-After"] == "60"
        async with http.post(login, data={"secret": token_of(seeker)}) as response:
            assert response.status == 429
            assert "Too many failed logins" in await response.text()


def sent_by(client: str, **headers: str) -> dict[str, str]:
    """The headers of a request a front forwarded from `client`."""
    return {"X-Forwarded-For": client, **headers}


@pytest.mark.seeker_config(operator_token="", trusted_fronts=("127.0.0.0/8",))
async def test_behind_a_trusted_front_each_client_is_counted_and_seen_as_it_came(
    seeker: Seeker,
) -> None:
    async with aiohttp.ClientSession() as http:
        login = f"{seeker.url}/admin/login"
        for _ in range(5):
            async with http.post(
                login, data={"secret": "wrong"}, headers=sent_by("198.51.100.1")
            ) as response:
                last = response.status
        assert last == 429
        async with http.post(
            login, data={"secret": "wrong"}, headers=sent_by("198.51.100.2")
        ) as response:
            assert response.status == 401
        # Reached over HTTPS at the proxy: the cookie is for HTTPS only.
        async with http.post(
            login,
            data={"secret": token_of(seeker)},
            headers=sent_by("198.51.100.2", **{"X-Forwarded-Proto": "https"}),
            allow_redirects=False,
        ) as response:
            assert response.status == 303 and "Secure" in response.headers["Set-Cookie"]


async def test_forwarded_headers_from_a_peer_not_trusted_are_ignored(seeker: Seeker) -> None:
    async with aiohttp.ClientSession() as http:
        login = f"{seeker.url}/admin/login"
        for client in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"):
            async with http.post(login, data={"secret": "wrong"}, headers=sent_by(client)):
                pass
        async with http.post(
            login,
            data={"secret": "wrong"},
            headers=sent_by("198.51.100.5", **{"X-Forwarded-Proto": "https"}),
        ) as response:
            assert response.status == 429


async def test_load_balancers_may_ask_for_liveness_with_head(seeker: Seeker) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.head(f"{seeker.url}/healthz") as response:
            assert response.status == 200
        async with http.head(f"{seeker.url}/api/v1/leader") as response:
            assert response.status == 200
        async with http.head(f"{seeker.url}/api/v1/jobs") as response:
            assert response.status == 401
