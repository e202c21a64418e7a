"""The Seeker's API over real HTTP: bad input, registration, forged results."""

import re
import time
from typing import Any

import aiohttp
import pytest
from support.api import call, registration

from channel.wire import messages
from channel.wire.identity import Identity
from seeker.daemon import Seeker

pytestmark = pytest.mark.seeker_config(open_registration=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keys": ["a"]}, "image is required"),
        ({"image": "x:1"}, "no keys"),
        ({"image": "x:1", "range": [500, 1]}, "empty or reversed"),
        ({"image": "x:1", "keys": ["a"], "colour": 9}, r"unknown field\(s\): colour"),
        ({"image": "x:1", "keys": ["a"], "block_size": 0}, "block_size"),
        ({"image": "x:1", "from_job": {"job_id": "jnope", "field": "u"}}, "no job 'jnope'"),
    ],
)
async def test_bad_jobs_get_400_with_the_reason(
    seeker: Seeker, http: aiohttp.ClientSession, body: Any, message: str
) -> None:
    status, answer = await call(http, "POST", f"{seeker.url}/api/v1/jobs", body)
    assert status == 400 and answer["code"] == "invalid_job"
    assert re.search(message, answer["message"])
    listed = (await call(http, "GET", f"{seeker.url}/api/v1/jobs", raw=b""))[1]
    assert listed == {"jobs": [], "next": None}


async def test_body_that_is_not_json_gets_400(seeker: Seeker, http: aiohttp.ClientSession) -> None:
    status, answer = await call(http, "POST", f"{seeker.url}/api/v1/jobs", raw=b"{nope")
    assert status == 400 and "not JSON" in answer["message"]


async def test_unknown_job_gets_404(seeker: Seeker, http: aiohttp.ClientSession) -> None:
    status, answer = await call(http, "GET", f"{seeker.url}/api/v1/jobs/jnope", raw=b"")
    assert (status, answer["code"]) == (404, "unknown_job")


async def test_good_job_is_accepted_and_cut(seeker: Seeker, http: aiohttp.ClientSession) -> None:
    status, job = await call(
        http,
        "POST",
        f"{seeker.url}/api/v1/jobs",
        {"image": "x:1", "range": [1, 501], "block_size": 25},
    )
    assert status == 201
    assert job["keys"] == {"total": 500, "done": 0, "failed": 0, "leased": 0, "pending": 500}
    assert job["blocks"] == 20 and job["status"] == "running"


async def test_registration_proves_the_key(seeker: Seeker, http: aiohttp.ClientSession) -> None:
    url = f"{seeker.url}/api/v1/givers"
    alice, mallory = Identity.generate(), Identity.generate()
    status, answer = await call(http, "POST", url, registration(alice))
    assert status == 200
    assert seeker.coordinator is not None
    assert answer == {
        "giver_id": alice.id,
        "channel_url": f"{seeker.url}/channel",
        "seeker_key": seeker.coordinator.identity.public_key,
    }

    taken = registration(mallory, giver_id=alice.id, public_key=alice.public_key)
    assert (await call(http, "POST", url, taken))[0] == 403
    claimed = registration(mallory, giver_id=alice.id)
    status, answer = await call(http, "POST", url, claimed)
    assert status == 403 and "does not derive" in answer["message"]
    stale = registration(alice, signed_at=time.time() - 3600)
    status, answer = await call(http, "POST", url, stale)
    assert status == 403 and "clock" in answer["message"]
    assert (await call(http, "POST", url, {"giver": {}}))[0] == 400


async def test_session_with_a_bad_proof_is_closed(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    giver, forger = Identity.generate(), Identity.generate()
    await call(http, "POST", f"{seeker.url}/api/v1/givers", registration(giver))
    async with http.ws_connect(f"{seeker.url}/api/v1/givers/{giver.id}/session") as ws:
        challenge = messages.decode((await ws.receive()).data)
        assert isinstance(challenge, messages.Challenge)
        signature = forger.sign_value(messages.Hello.signed_value(giver.id, challenge.nonce))
        await ws.send_bytes(messages.encode(messages.Hello(giver.id, signature)))
        await ws.receive()
        assert ws.close_code == 4003


async def test_session_for_an_unregistered_giver_is_404(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(f"{seeker.url}/api/v1/givers/gnobody/session")
    assert caught.value.status == 404


async def test_result_nested_too_deep_is_a_400_not_a_crash(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    giver = Identity.generate()
    await call(http, "POST", f"{seeker.url}/api/v1/givers", registration(giver))
    deep = b'{"d":' * 300 + b"1" + b"}" * 300
    body = (
        b'{"result_id": "r1", "task_id": "j1-00000", "job_id": "j1", "giver_id": "'
        + giver.id.encode()
        + b'", "records": [{"key": "1", "data": '
        + deep
        + b'}], "outcomes": [], "error": null, "started_at": 0, "finished_at": 1,'
        b' "digest": "", "signature": ""}'
    )
    status, answer = await call(http, "POST", f"{seeker.url}/channel/v1/results", raw=body)
    assert (status, answer["code"]) == (400, "bad_result")


async def test_givers_show_their_record_and_a_flag_is_cleared_by_the_operator(
    seeker: Seeker, http: aiohttp.ClientSession
) -> None:
    url = f"{seeker.url}/api/v1/givers"
    alice = Identity.generate()
    assert (await call(http, "POST", url, registration(alice)))[0] == 200
    status, answer = await call(http, "POST", f"{url}/{alice.id}/unflag", {})
    assert (status, answer["code"]) == (404, "not_flagged")
    coordinator = seeker.coordinator
    assert coordinator is not None
    for _ in range(coordinator.trust.flag_after):
        coordinator.trust.rejected(alice.id, ["x:1"], time.time())
    status, view = await call(http, "GET", url)
    (giver,) = view["givers"]
    assert giver["giver_id"] == alice.id and giver["flagged"] and giver["trust"] == {"x:1": 0}
    assert [f["giver_id"] for f in view["flagged"]] == [alice.id] and view["purged"] == []
    status, answer = await call(http, "POST", f"{url}/{alice.id}/unflag", {})
    assert (status, answer) == (200, {"giver_id": alice.id, "flagged": False})
    stored = {doc["giver_id"]: doc for doc in await coordinator.keys.store.givers()}
    assert stored[alice.id]["flagged"] == ""
