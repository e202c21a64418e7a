"""Operator credentials on every state state_store backend: tokens, the password,
session cookies and the login limit. The clock is passed in."""

import asyncio
import stat
from pathlib import Path

import pytest

from seeker.access.logins import LoginLimiter
from seeker.access.operators import CACHE_S, SESSION_S, Operator, Operators
from seeker.errors import (
    InvalidOperatorRequest,
    LoginRefused,
    OwnOperatorToken,
    UnknownOperatorToken,
)
from seeker.state.base import StateStore

NOW = 1_000_000.0
LATER = NOW + CACHE_S + 1
PASSWORD = "correct horse battery"


async def test_the_credentials_document_is_replaced_only_from_the_version_read(
    state_store: StateStore,
) -> None:
    assert await state_store.operators() is None
    first = {"version": 1, "tokens": [], "password": None}
    assert await state_store.replace_operators(first)
    assert not await state_store.replace_operators({**first, "tokens": ["other"]})
    assert await state_store.replace_operators({**first, "version": 2, "tokens": ["a"]})
    assert not await state_store.replace_operators({**first, "version": 2, "tokens": ["b"]})
    assert await state_store.operators() == {**first, "version": 2, "tokens": ["a"]}


async def test_a_new_store_gets_a_token_file_once_and_only_its_user_reads_it(
    state_store: StateStore, tmp_path: Path
) -> None:
    path = tmp_path / "data" / "operator.token"
    operators = Operators(state_store)
    assert await operators.ensure_token_file(path, NOW)
    token = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (await operators.bearer(token, NOW)) is not None
    assert not await Operators(state_store).ensure_token_file(tmp_path / "again", LATER)
    assert not (tmp_path / "again").exists()


async def test_with_a_fixed_token_no_file_is_written_and_the_fixed_token_works(
    state_store: StateStore, tmp_path: Path
) -> None:
    operators = Operators(state_store, fixed_token="sgo_fixed")
    assert not await operators.ensure_token_file(tmp_path / "operator.token", NOW)
    assert (await operators.bearer("sgo_fixed", NOW)).via == "fixed token"
    assert await operators.bearer("sgo_fixed2", NOW) is None


async def test_tokens_are_stored_hashed_expire_and_are_refused_once_revoked_everywhere(
    state_store: StateStore,
) -> None:
    operators, other_seeker = Operators(state_store), Operators(state_store)
    token, view = await operators.issue(NOW, label="prometheus", expires_in_s=3600)
    assert token.startswith("sgo_") and "hash" not in view and view["state"] == "active"
    assert token not in str(await state_store.operators())
    assert (await other_seeker.bearer(token, NOW)).via == f"token {view['token_id']}"
    assert await operators.bearer(token, NOW + 3600) is None
    assert [t["state"] for t in await operators.tokens(NOW + 3600)] == ["expired"]
    await operators.revoke(view["token_id"], NOW)
    assert await operators.bearer(token, NOW) is None
    # Another Seeker on the state_store trusts what it read for at most CACHE_S.
    assert await other_seeker.bearer(token, LATER) is None
    with pytest.raises(UnknownOperatorToken):
        await operators.revoke(view["token_id"], NOW)


async def test_a_token_revokes_itself_only_when_forced_and_hears_what_ways_in_are_left(
    state_store: StateStore,
) -> None:
    operators = Operators(state_store)
    token, view = await operators.issue(NOW, label="laptop", expires_in_s=None)
    token_id = view["token_id"]
    by_bearer = await operators.bearer(token, NOW)
    by_session = await operators.session(await operators.log_in(token, "10.0.0.1", NOW), NOW)
    for operator in (by_bearer, by_session):
        with pytest.raises(OwnOperatorToken) as refused:
            await operators.revoke(token_id, NOW, by=operator)
        assert refused.value.other_ways == ()
        assert "(no other way in)" in str(refused.value)
    await operators.set_password(PASSWORD, NOW)
    await operators.issue(NOW, label="expired", expires_in_s=1)
    await operators.issue(NOW, label="ci", expires_in_s=None)
    with pytest.raises(OwnOperatorToken) as refused:
        await operators.revoke(token_id, NOW + 2, by=by_bearer)
    assert refused.value.other_ways == ("the password", "1 other operator token")
    assert await operators.bearer(token, NOW + 2) is not None
    await operators.revoke(token_id, NOW + 2, by=by_bearer, force=True)
    assert await operators.bearer(token, NOW + 2) is None


async def test_any_other_operator_revokes_a_token_unforced(state_store: StateStore) -> None:
    operators = Operators(state_store, fixed_token="sgo_fixed")
    _, view = await operators.issue(NOW, label="", expires_in_s=None)
    for other in (Operator("fixed token"), Operator("password", csrf="c"), Operator("token x")):
        await operators.revoke(view["token_id"], NOW, by=other)
        _, view = await operators.issue(NOW, label="", expires_in_s=None)


@pytest.mark.parametrize(
    ("label", "expires_in_s", "field"),
    [("two\nlines", None, "label"), ("x" * 201, None, "label"), ("", 0, "expires_in_s")],
)
async def test_a_bad_token_request_names_its_field(
    state_store: StateStore, label: str, expires_in_s: float | None, field: str
) -> None:
    with pytest.raises(InvalidOperatorRequest) as refused:
        await Operators(state_store).issue(NOW, label=label, expires_in_s=expires_in_s)
    assert refused.value.field == field


async def test_a_password_logs_in_and_changing_it_signs_every_session_out(
    state_store: StateStore,
) -> None:
    operators = Operators(state_store)
    with pytest.raises(LoginRefused):
        await operators.log_in(PASSWORD, "10.0.0.1", NOW)
    await operators.set_password(PASSWORD, NOW)
    assert PASSWORD not in str(await state_store.operators())
    cookie = await operators.log_in(PASSWORD, "10.0.0.1", NOW)
    session = await operators.session(cookie, NOW)
    assert session is not None and session.via == "password" and len(session.csrf) == 64
    assert await Operators(state_store).session(cookie, NOW) == session
    await operators.set_password(PASSWORD + "!", NOW)
    assert await operators.session(cookie, NOW) is None
    with pytest.raises(InvalidOperatorRequest):
        await operators.set_password("short", NOW)


async def test_a_session_ends_when_it_expires_or_its_token_is_revoked_and_forged_ones_fail(
    state_store: StateStore,
) -> None:
    operators = Operators(state_store)
    token, view = await operators.issue(NOW, label="", expires_in_s=None)
    cookie = await operators.log_in(token, "10.0.0.1", NOW)
    assert (await operators.session(cookie, NOW)).via == f"token {view['token_id']}"
    assert await operators.session(cookie, NOW + SESSION_S) is None
    payload, _, mac = cookie.partition(".")
    assert await operators.session(payload[:-2] + "xx." + mac, NOW) is None
    assert await operators.session(f"{payload}.{'A' * len(mac)}", NOW) is None
    assert await operators.session("not a cookie", NOW) is None
    await operators.revoke(view["token_id"], NOW)
    assert await operators.session(cookie, NOW) is None


async def test_logins_failing_from_one_address_are_limited_even_with_the_right_password(
    state_store: StateStore,
) -> None:
    operators = Operators(state_store)
    await operators.set_password(PASSWORD, NOW)
    for _ in range(4):
        with pytest.raises(LoginRefused) as refused:
            await operators.log_in("guess", "10.0.0.1", NOW)
        assert refused.value.retry_after_s == 0
    with pytest.raises(LoginRefused) as refused:
        await operators.log_in("guess", "10.0.0.1", NOW)
    assert refused.value.retry_after_s == 60
    with pytest.raises(LoginRefused, match="too many failed logins"):
        await operators.log_in(PASSWORD, "10.0.0.1", NOW + 30)
    assert await operators.log_in(PASSWORD, "10.0.0.2", NOW + 30)
    assert await operators.log_in(PASSWORD, "10.0.0.1", NOW + 60)


def test_the_login_limit_forgets_old_failures_and_successes_clear_it() -> None:
    limiter = LoginLimiter(max_failures=2, window_s=10)
    limiter.failed("a", 0)
    assert limiter.failed("a", 5) == 5
    with pytest.raises(LoginRefused):
        limiter.check("a", 9)
    limiter.check("a", 10)
    limiter.failed("b", 0)
    limiter.succeeded("b")
    assert limiter.failed("b", 1) == 0


async def test_logins_made_at_once_count_before_any_is_checked(state_store: StateStore) -> None:
    operators = Operators(state_store)
    await operators.set_password(PASSWORD, NOW)
    tries = [operators.log_in(f"guess {n}", "10.0.0.1", NOW) for n in range(20)]
    refusals = await asyncio.gather(*tries, return_exceptions=True)
    assert all(isinstance(r, LoginRefused) for r in refusals)
    assert sum("too many failed logins" in str(r) for r in refusals) == 15
