"""Admission on every state state_store backend: the Seeker key, tokens, admissions
bound to a key, pending Givers and approval. The clock is passed in."""

import asyncio
import dataclasses

import pytest

from channel.wire.givers import Capabilities, GiverInfo
from channel.wire.identity import Identity
from seeker.errors import GiverIdTaken, NotAdmitted, NotPending, RegistrationPending, UnknownToken
from seeker.grid.admission import Admissions
from seeker.grid.signing import seeker_identity
from seeker.state.base import StateStore
from seeker.state.factory import open_state

NOW = 1_000_000.0
CAPS = Capabilities(
    cpus=2, memory_bytes=2**30, arch="amd64", os="linux", docker_version="20.10", slots=1
)


def info(identity: Identity, name: str = "g") -> GiverInfo:
    return GiverInfo(identity.id, identity.public_key, name, CAPS, NOW)


async def test_every_seeker_sharing_a_store_signs_with_the_first_key(
    state_store: StateStore, state_url: str
) -> None:
    first = await seeker_identity(state_store)
    other = await open_state(state_url)
    try:
        second = await seeker_identity(other)
    finally:
        await other.close()
    assert second.public_key == first.public_key
    assert (await seeker_identity(state_store)).public_key == first.public_key


async def test_a_token_admits_until_used_up_and_records_itself(state_store: StateStore) -> None:
    admissions = Admissions(state_store, open_registration=False)
    token, doc = await admissions.issue(NOW, label="lab", expires_in_s=None, uses=2)
    assert doc["hash"] not in token and token.split("_")[1] == doc["token_id"]
    a, b, c = Identity.generate(), Identity.generate(), Identity.generate()
    admitted = await admissions.decide(info(a), token, NOW)
    assert (admitted["via"], admitted["token_id"]) == ("token", doc["token_id"])
    # Admitted once: its key is enough from now on, token or not.
    assert (await admissions.decide(info(a), "", NOW))["token_id"] == doc["token_id"]
    await admissions.decide(info(b), token, NOW)
    with pytest.raises(RegistrationPending, match=r"used up \(2 of 2 uses\)"):
        await admissions.decide(info(c), token, NOW)
    [view] = await admissions.tokens(NOW)
    assert (view["state"], view["uses"], view["label"]) == ("used up", 2, "lab")
    assert "hash" not in view and [p["giver_id"] for p in admissions.pending()] == [c.id]


async def test_registrations_arriving_together_use_a_token_exactly_as_often_as_it_allows(
    state_store: StateStore,
) -> None:
    admissions = Admissions(state_store, open_registration=False)
    token, _ = await admissions.issue(NOW, expires_in_s=None, uses=10)
    givers = [info(Identity.generate()) for _ in range(30)]
    decided = await asyncio.gather(
        *(admissions.decide(giver, token, NOW) for giver in givers), return_exceptions=True
    )
    assert sum(isinstance(d, dict) for d in decided) == 10
    assert sum(isinstance(d, RegistrationPending) for d in decided) == 20
    [view] = await admissions.tokens(NOW)
    assert (view["state"], view["uses"]) == ("used up", 10)


async def test_expired_revoked_and_forged_tokens_admit_no_one(state_store: StateStore) -> None:
    admissions = Admissions(state_store, open_registration=False)
    expiring, expiring_doc = await admissions.issue(NOW, expires_in_s=60, uses=None)
    revoked, revoked_doc = await admissions.issue(NOW, expires_in_s=None, uses=None)
    await admissions.revoke_token(revoked_doc["token_id"], NOW)
    giver = info(Identity.generate())
    forged = expiring.rsplit("_", 1)[0] + "_" + "x" * 32
    for token, problem in (
        (expiring, "is expired"),
        (revoked, "is revoked"),
        (forged, "not a token this Seeker issued"),
        ("hello", "not a token as `seeker token issue` prints them"),
    ):
        with pytest.raises(RegistrationPending, match=problem):
            await admissions.decide(giver, token, NOW + 60)
    states = {t["token_id"]: t["state"] for t in await admissions.tokens(NOW + 60)}
    assert states == {expiring_doc["token_id"]: "expired", revoked_doc["token_id"]: "revoked"}
    # Before it expired, the same token admitted.
    assert (await admissions.decide(giver, expiring, NOW + 59))["via"] == "token"
    with pytest.raises(UnknownToken):
        await admissions.revoke_token("nope", NOW)


async def test_pending_until_approved_then_revoked(state_store: StateStore) -> None:
    admissions = Admissions(state_store, open_registration=False)
    giver = info(Identity.generate(), "home")
    with pytest.raises(NotPending):
        await admissions.approve(giver.giver_id, NOW)
    for attempt in range(2):
        with pytest.raises(RegistrationPending, match=f"seeker approve {giver.giver_id}"):
            await admissions.decide(giver, "", NOW + attempt)
    [pending] = admissions.pending()
    assert (pending["name"], pending["first_seen"], pending["last_seen"]) == ("home", NOW, NOW + 1)
    assert (await admissions.approve(giver.giver_id, NOW + 2))["via"] == "approval"
    assert admissions.pending() == []
    # A Seeker sharing the state_store (or restarted) knows the admission.
    assert await Admissions(state_store, open_registration=False).decide(giver, "", NOW)
    await admissions.revoke(giver.giver_id)
    with pytest.raises(RegistrationPending):
        await admissions.decide(giver, "", NOW + 3)
    await admissions.revoke(giver.giver_id)  # pending only: forgotten, no error
    with pytest.raises(NotAdmitted):
        await admissions.revoke(giver.giver_id)


async def test_an_admitted_id_is_never_taken_over_by_another_key(state_store: StateStore) -> None:
    admissions = Admissions(state_store, open_registration=True)
    owner, mallory = Identity.generate(), Identity.generate()
    assert (await admissions.decide(info(owner), "", NOW))["via"] == "open registration"
    # An id that does not derive from its key never gets this far (the registration's
    # signature check); were it to, the admission still binds the id to the first key.
    takeover = dataclasses.replace(info(mallory), giver_id=owner.id)
    token, _ = await admissions.issue(NOW, expires_in_s=None, uses=None)
    with pytest.raises(GiverIdTaken, match="admitted with another public key"):
        await admissions.decide(takeover, token, NOW)
    assert (await state_store.admission(owner.id) or {})["public_key"] == owner.public_key
    assert await state_store.admit(
        {**(await state_store.admission(owner.id) or {}), "public_key": "k"}
    )
    assert (await state_store.admission(owner.id) or {})["public_key"] == owner.public_key
