"""Admission on a real Seeker over HTTP, with real Givers: tokens, approval of
pending Givers, revocation, and no takeover of an admitted id."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import OPERATOR_HEADERS, OPERATOR_TOKEN, issue_token

from channel.wire import canonical, messages
from channel.wire.givers import Capabilities, GiverInfo
from channel.wire.identity import Identity
from giver.config import GiverConfig
from giver.daemon import Giver
from seeker.config import SeekerConfig
from seeker.daemon import Seeker

WAIT_S = 60.0
POLL_S = 0.05
CAPS = Capabilities(
    cpus=2, memory_bytes=2**30, arch="amd64", os="linux", docker_version="20.10", slots=1
)


@pytest.fixture
async def seeker(tmp_path: Path) -> AsyncIterator[Seeker]:
    """A Seeker as by default: a Giver needs a token or an operator's approval."""
    async with Seeker(
        SeekerConfig(
            operator_token=OPERATOR_TOKEN,
            port=0,
            data_dir=tmp_path / "seeker",
            poll_interval_s=0.05,
        )
    ) as s:
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as session:
        yield session


@pytest.fixture
async def giver(seeker: Seeker, tmp_path: Path) -> AsyncIterator[Callable[..., Giver]]:
    """Make Givers of `seeker` (not started); each is stopped when the test ends."""
    async with AsyncExitStack() as stack:

        def make(name: str, **settings: Any) -> Giver:
            made = Giver(
                GiverConfig(
                    seeker_url=seeker.url,
                    data_dir=tmp_path / name,
                    name=name,
                    slots=1,
                    reconnect_max_s=0.2,
                    **settings,
                )
            )
            stack.push_async_callback(made.stop)
            return made

        yield make


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, url, data=canonical.dumps(body)) as response:
        return response.status, canonical.loads(await response.read())


def registration(identity: Identity, token: str = "") -> dict[str, Any]:
    info = GiverInfo(identity.id, identity.public_key, "raw", CAPS, time.time())
    body = {"giver": info.to_wire(), "signature": identity.sign_value(info.to_wire())}
    return {**body, "token": token} if token else body


async def until(condition: Callable[[], Any]) -> Any:
    """Poll the Seeker's HTTP API until `condition()` returns something true."""
    async with asyncio.timeout(WAIT_S):
        while not (value := await condition()):  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
    return value


async def test_a_token_admits_and_without_one_a_giver_waits_until_approved(
    seeker: Seeker, http: aiohttp.ClientSession, giver: Callable[..., Giver]
) -> None:
    api = f"{seeker.url}/api/v1"
    token = await issue_token(seeker.url, label="lab", uses=1)
    with_token = giver("with-token", token=token)
    await with_token.start()
    status, answer = await call(http, "GET", f"{api}/tokens")
    [listed] = answer["tokens"]
    assert status == 200 and (listed["uses"], listed["state"]) == (1, "used up")
    assert "token" not in listed and "hash" not in listed

    status, answer = await call(http, "POST", f"{api}/givers", registration(Identity.generate()))
    assert (status, answer["code"]) == (403, "registration_pending")
    assert "seeker approve" in answer["message"]

    waiting = giver("waiting", token=token)
    starting = asyncio.create_task(waiting.start())

    async def pending() -> list[str]:
        view = (await call(http, "GET", f"{api}/givers"))[1]
        return [p["giver_id"] for p in view["pending"] if p["name"] == "waiting"]

    [waiting_id] = await until(pending)
    view = (await call(http, "GET", f"{api}/givers"))[1]
    [entry] = [p for p in view["pending"] if p["giver_id"] == waiting_id]
    assert "used up" in entry["token_problem"]
    assert not starting.done()
    status, admitted = await call(http, "POST", f"{api}/givers/{waiting_id}/approve", {})
    assert status == 200 and admitted["via"] == "approval"
    async with asyncio.timeout(WAIT_S):
        await starting
    assert waiting.id == waiting_id
    status, answer = await call(http, "POST", f"{api}/givers/{waiting_id}/approve", {})
    assert (status, answer["code"]) == (404, "not_pending")


async def test_revoking_a_giver_takes_back_its_task_closes_its_session_and_forgets_it(
    seeker: Seeker, http: aiohttp.ClientSession, giver: Callable[..., Giver], faulty_image: str
) -> None:
    api = f"{seeker.url}/api/v1"
    lent = giver("lent", token=await issue_token(seeker.url, uses=1))
    await lent.start()
    body = {
        "image": faulty_image,
        "keys": ["a"],
        "settings": {"mode": "sleep"},
        "limits": {"timeout_s": 60},
    }
    job_id = (await call(http, "POST", f"{api}/jobs", body))[1]["job_id"]

    async def leased() -> bool:
        return (await call(http, "GET", f"{api}/jobs/{job_id}"))[1]["keys"]["leased"] == 1

    await until(leased)
    status, answer = await call(http, "POST", f"{api}/givers/{lent.id}/revoke", {})
    assert (status, answer) == (200, {"giver_id": lent.id, "admitted": False, "leases": 1})
    job = (await call(http, "GET", f"{api}/jobs/{job_id}"))[1]
    assert (job["keys"]["leased"], job["keys"]["pending"]) == (0, 1)

    async def back_as_pending() -> bool:
        view = (await call(http, "GET", f"{api}/givers"))[1]
        return [p["giver_id"] for p in view["pending"]] == [lent.id]

    # Its session closed, it registers again: its token is used up, so it waits.
    await until(back_as_pending)
    view = (await call(http, "GET", f"{api}/givers"))[1]
    assert [g["giver_id"] for g in view["givers"]] == []
    status, answer = await call(http, "POST", f"{api}/givers/gnobody/revoke", {})
    assert (status, answer["code"]) == (404, "not_admitted")


async def test_no_one_takes_over_an_admitted_id_at_registration_or_session(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    api = f"{seeker.url}/api/v1"
    owner, mallory = Identity.generate(), Identity.generate()
    token = await issue_token(seeker.url)
    assert (await call(http, "POST", f"{api}/givers", registration(owner, token)))[0] == 200

    claimed = registration(mallory, token)
    claimed["giver"]["giver_id"] = owner.id
    claimed["signature"] = mallory.sign_value(claimed["giver"])
    status, answer = await call(http, "POST", f"{api}/givers", claimed)
    assert status == 403 and "does not derive" in answer["message"]

    async with http.ws_connect(f"{api}/givers/{owner.id}/session") as ws:
        challenge = messages.decode((await ws.receive()).data)
        assert isinstance(challenge, messages.Challenge)
        assert seeker.coordinator is not None
        assert challenge.seeker_key == seeker.coordinator.identity.public_key
        signature = mallory.sign_value(messages.Hello.signed_value(owner.id, challenge.nonce))
        await ws.send_bytes(messages.encode(messages.Hello(owner.id, signature)))
        await ws.receive()
        assert ws.close_code == 4003
