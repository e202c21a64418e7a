"""Who may operate the Seeker: operator tokens, the operators' password and the
admin page's sessions.

The credentials are one versioned document in the state store, so every
Seeker sharing the store accepts the same ones: each token only as a SHA-256
hash, the password only as scrypt, and the key that signs session cookies.
A session cookie is signed, not stored; it names the generation of the
credentials it was made under, and changing the password starts a new
generation, which signs every session out. A session made with a token ends
when that token is revoked.

A Seeker whose store holds no credentials at all (a new deployment) issues
one token at start and writes it to a file only its user can read; the CLI
on that machine finds it there.
"""

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channel.errors import WireError
from channel.wire import canonical
from channel.wire.tokens import TokenRequest, check_request, digest, new_token
from seeker.access.logins import LoginLimiter
from seeker.errors import (
    InvalidOperatorRequest,
    LoginRefused,
    OwnOperatorToken,
    UnknownOperatorToken,
)
from seeker.state.base import Doc, StateStore

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sgo"
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
# Credentials read from the store are trusted this long, so a token revoked on
# one Seeker is refused by the others within it.
CACHE_S = 2.0
SESSION_S = 12 * 3600.0
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_SCRYPT_MAXMEM = 64 * 1024 * 1024
MAX_HASHING = 2


@dataclass(frozen=True, slots=True)
class Operator:
    """Who a request comes from: `via` is "password", "token ID" or "fixed token";
    `csrf` is the session's CSRF token, empty for a bearer token."""

    via: str
    csrf: str = ""

    @property
    def session(self) -> bool:
        return bool(self.csrf)

    @property
    def token_id(self) -> str:
        """The id of the issued token the request comes with (directly or through
        the session it opened), or ""."""
        return self.via.removeprefix("token ") if self.via.startswith("token ") else ""


class Operators:
    """The operators' credentials; `fixed_token` (from the Seeker's settings) is
    accepted besides the issued tokens."""

    def __init__(self, store: StateStore, *, fixed_token: str = "") -> None:
        self._store = store
        self._fixed_hash = digest(fixed_token) if fixed_token else ""
        self._doc: Doc | None = None
        self._read_at = float("-inf")
        self.limiter = LoginLimiter()
        # scrypt takes 32 MiB and a core for a moment: only so many at once.
        self._hashing = asyncio.Semaphore(MAX_HASHING)

    async def _current(self, now: float) -> Doc:
        """The credentials, read again when the copy is older than CACHE_S; created
        (with no token and no password) if the store has none."""
        if self._doc is None or now - self._read_at > CACHE_S:
            doc = await self._store.operators()
            if doc is None:
                await self._store.replace_operators(_new_doc())
                doc = await self._store.operators()
                assert doc is not None
            self._doc, self._read_at = doc, now
        return self._doc

    async def _change(self, now: float, change: Callable[[Doc], Doc]) -> Doc:
        """Apply `change` to the stored credentials, again on a concurrent change."""
        await self._current(now)
        while True:
            stored = await self._store.operators()
            assert stored is not None
            changed = {**change(stored), "version": stored["version"] + 1}
            if await self._store.replace_operators(changed):
                self._doc, self._read_at = changed, now
                return changed

    async def ensure_token_file(self, path: Path, now: float) -> bool:
        """With no password, no token and no fixed token, issue a token and write
        it to `path` (mode 0600); whether one was written."""
        doc = await self._current(now)
        if self._fixed_hash or doc["password"] is not None or doc["tokens"]:
            return False
        token, _ = await self.issue(now, label="written at first start", expires_in_s=None)
        await asyncio.to_thread(_write_secret, path, token + "\n")
        log.warning("no operator credentials yet: an operator token was written to %s", path)
        return True

    async def issue(
        self, now: float, *, label: str, expires_in_s: float | None
    ) -> tuple[str, dict[str, Any]]:
        """A new operator token: its text (shown once, never stored) and its view."""
        check_request(TokenRequest(label, expires_in_s), error=InvalidOperatorRequest)
        token = new_token(TOKEN_PREFIX)
        entry = {
            "token_id": token.token_id,
            "hash": digest(token.text),
            "label": label,
            "created_at": now,
            "expires_at": None if expires_in_s is None else now + expires_in_s,
        }
        await self._change(now, lambda doc: {**doc, "tokens": [*doc["tokens"], entry]})
        log.info("operator token %s issued (%s)", token.token_id, label or "no label")
        return token.text, _token_view(entry, now)

    async def tokens(self, now: float) -> list[dict[str, Any]]:
        doc = await self._current(now)
        return [_token_view(entry, now) for entry in doc["tokens"]]

    async def revoke(
        self, token_id: str, now: float, *, by: Operator | None = None, force: bool = False
    ) -> dict[str, Any]:
        """Revoke an operator token: refused from now on, its sessions ended. The
        token operator `by` comes with is revoked only with `force`: else its
        holder would lock itself out by mistake."""
        doc = await self._current(now)
        entry = next((t for t in doc["tokens"] if t["token_id"] == token_id), None)
        if entry is None:
            raise UnknownOperatorToken(token_id)
        if by is not None and by.token_id == token_id and not force:
            raise OwnOperatorToken(token_id, self._other_ways(doc, token_id, now))
        await self._change(
            now,
            lambda doc: {**doc, "tokens": [t for t in doc["tokens"] if t["token_id"] != token_id]},
        )
        log.info("operator token %s revoked", token_id)
        return {**_token_view(entry, now), "state": "revoked"}

    def _other_ways(self, doc: Doc, token_id: str, now: float) -> tuple[str, ...]:
        """The ways in besides the operator token `token_id`, as the operator reads them."""
        others = sum(1 for t in doc["tokens"] if t["token_id"] != token_id and _live(t, now))
        return tuple(
            way
            for way, open_ in (
                ("the fixed token", bool(self._fixed_hash)),
                ("the password", doc["password"] is not None),
                (f"{others} other operator token{'s' if others > 1 else ''}", others > 0),
            )
            if open_
        )

    async def set_password(self, password: str, now: float) -> None:
        """Set the operators' password; every session is signed out."""
        if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise InvalidOperatorRequest(
                f"a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
                field="password",
            )
        salt = secrets.token_bytes(16)
        async with self._hashing:
            scrypted = await asyncio.to_thread(_scrypt, password, salt, _SCRYPT)
        hashed = {**_SCRYPT, "salt": salt.hex(), "hash": scrypted.hex()}
        await self._change(
            now, lambda doc: {**doc, "password": hashed, "generation": doc["generation"] + 1}
        )
        log.info("operator password changed; every session signed out")

    async def bearer(self, token: str, now: float) -> Operator | None:
        """The operator an `Authorization: Bearer` token stands for, or None."""
        hashed = digest(token)
        if self._fixed_hash and hmac.compare_digest(hashed, self._fixed_hash):
            return Operator("fixed token")
        entry = _live_token(await self._current(now), hashed, now)
        return Operator(f"token {entry['token_id']}") if entry is not None else None

    async def log_in(self, secret: str, client: str, now: float) -> str:
        """A session cookie for `secret` (the password or a token), or LoginRefused;
        failures from one client address are limited."""
        self.limiter.check(client, now)
        # Counted as failed until it succeeds, so attempts made at once count too.
        retry_after_s = self.limiter.failed(client, now)
        operator = await self.bearer(secret, now)
        if operator is not None:
            via = operator.via
        elif await self._password_matches(secret, now):
            via = "password"
        else:
            raise LoginRefused("wrong password or token", retry_after_s=retry_after_s)
        self.limiter.succeeded(client)
        doc = await self._current(now)
        session = {
            "exp": now + SESSION_S,
            "gen": doc["generation"],
            "sid": secrets.token_hex(16),
            "via": via,
        }
        payload = canonical.dumps(session)
        return f"{_b64(payload)}.{_b64(_mac(doc, payload))}"

    async def session(self, cookie: str, now: float) -> Operator | None:
        """The operator a session cookie stands for, or None if it is not one of
        ours, expired, signed out or made with a revoked token."""
        doc = await self._current(now)
        payload_text, _, mac_text = cookie.partition(".")
        try:
            payload = base64.urlsafe_b64decode(payload_text + "==")
            mac = base64.urlsafe_b64decode(mac_text + "==")
        except ValueError:
            return None
        if not hmac.compare_digest(mac, _mac(doc, payload)):
            return None
        try:
            session = canonical.loads(payload)
        except WireError:
            return None
        if session["exp"] <= now or session["gen"] != doc["generation"]:
            return None
        csrf = hmac.new(
            bytes.fromhex(doc["session_key"]), b"csrf:" + session["sid"].encode(), "sha256"
        )
        operator = Operator(session["via"], csrf=csrf.hexdigest())
        token_id = operator.token_id
        if token_id and not any(t["token_id"] == token_id and _live(t, now) for t in doc["tokens"]):
            return None
        return operator

    async def _password_matches(self, given: str, now: float) -> bool:
        stored = (await self._current(now))["password"]
        if stored is None or len(given) > MAX_PASSWORD_CHARS:
            return False
        params = {k: stored[k] for k in _SCRYPT}
        async with self._hashing:
            scrypted = await asyncio.to_thread(
                _scrypt, given, bytes.fromhex(stored["salt"]), params
            )
        return hmac.compare_digest(scrypted.hex(), stored["hash"])


def _new_doc() -> Doc:
    return {
        "version": 1,
        "generation": 1,
        "password": None,
        "tokens": [],
        "session_key": secrets.token_hex(32),
    }


def _scrypt(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, maxmem=_SCRYPT_MAXMEM, **params)


def _mac(doc: Doc, payload: bytes) -> bytes:
    return hmac.new(bytes.fromhex(doc["session_key"]), payload, "sha256").digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _live(entry: Doc, now: float) -> bool:
    return entry["expires_at"] is None or entry["expires_at"] > now


def _live_token(doc: Doc, hashed: str, now: float) -> Doc | None:
    for entry in doc["tokens"]:
        if hmac.compare_digest(entry["hash"], hashed):
            return entry if _live(entry, now) else None
    return None


def _token_view(entry: Doc, now: float) -> dict[str, Any]:
    view = {k: v for k, v in entry.items() if k != "hash"}
    return {**view, "state": "active" if _live(entry, now) else "expired"}


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
