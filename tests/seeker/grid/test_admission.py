"""Admission on a real Seeker over HTTP, with real Givers: tokens, approval of
pending Givers, revocation, and no takeover of an admitted id."""

import asyncio
from collections.abc import Callable

import aiohttp
from support.api import call, issue_token, registration
from support.base import until

from channel.wire import messages
from channel.wire.identity import Identity
from giver.daemon import Giver
from seeker.daemon import Seeker

WAIT_S = 60.0
POLL_S = 0.05


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

    [waiting_id] = await until(pending, "pending", timeout_s=WAIT_S)
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

    await until(leased, "leased", timeout_s=WAIT_S)
    status, answer = await call(http, "POST", f"{api}/givers/{lent.id}/revoke", {})
    assert (status, answer) == (200, {"giver_id": lent.id, "admitted": False, "leases": 1})
    job = (await call(http, "GET", f"{api}/jobs/{job_id}"))[1]
    assert (job["keys"]["leased"], job["keys"]["pending"]) == (0, 1)

    async def back_as_pending() -> bool:
        view = (await call(http, "GET", f"{api}/givers"))[1]
        return [p["giver_id"] for p in view["pending"]] == [lent.id]

    # Its session closed, it registers again: its token is used up, so it waits.
    await until(back_as_pending, "back_as_pending", timeout_s=WAIT_S)
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
    assert (await call(http, "POST", f"{api}/givers", registration(owner, token=token)))[0] == 200

    claimed = registration(mallory, token=token)
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
