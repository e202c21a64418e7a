"""Who may give: admission tokens, operator approval, and the admission decision.

A Giver is admitted when its key already was, when it brings a valid token
(issued by `seeker token issue`), when an operator approves it, or by anyone
while the Seeker runs with open registration. Otherwise it waits as pending;
it keeps registering until an operator approves it. An admission binds the
Giver's id to its public key, so no other key can ever take that id over.

Admissions and tokens live in the state store (a token only as a hash of its
secret); pending Givers only in memory, as they keep knocking anyway.
`Admissions.decide` is the one decision every way in (HTTP registration,
discovery) goes through.
"""

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from channel.wire.givers import GiverInfo
from channel.wire.tokens import TokenRequest, check_request, digest, matches, new_token, split_token
from seeker.errors import (
    GiverIdTaken,
    InvalidTokenRequest,
    NotAdmitted,
    NotPending,
    RegistrationPending,
    UnknownToken,
)
from seeker.grid.arrivals import Arrivals
from seeker.state.base import Doc, StateStore

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sgt"
# Pending Givers kept at most; past that the one waiting longest is dropped.
MAX_PENDING = 1000


@dataclass(slots=True)
class Pending:
    """A Giver waiting for an operator's approval."""

    info: GiverInfo
    first_seen: float
    last_seen: float
    # Why a token it brought did not admit it, if it brought one.
    token_problem: str = ""

    def view(self) -> dict[str, Any]:
        return {
            "giver_id": self.info.giver_id,
            "name": self.info.name,
            "volunteer": self.info.volunteer,
            "public_key": self.info.public_key,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "token_problem": self.token_problem,
        }


def token_view(doc: Doc, now: float) -> dict[str, Any]:
    """What an operator sees of a token: everything but its hash, and its state."""
    view = {k: v for k, v in doc.items() if k not in ("hash", "version")}
    return {**view, "state": _token_state(doc, now)}


class Admissions:
    """Admission tokens, admitted Givers (in the state store) and pending ones."""

    def __init__(self, store: StateStore, *, open_registration: bool) -> None:
        self._store = store
        self.open_registration = open_registration
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        # Uses of tokens are counted one at a time: registrations arriving together
        # would otherwise mostly lose the race to write a token's next version.
        self._token_use = asyncio.Lock()
        self.arrivals = Arrivals()

    async def issue(
        self, now: float, *, label: str = "", expires_in_s: float | None, uses: int | None
    ) -> tuple[str, Doc]:
        """A new token: the secret text (shown once, never stored) and its document."""
        check_request(TokenRequest(label, expires_in_s, uses), error=InvalidTokenRequest)
        token = new_token(TOKEN_PREFIX, secret_bytes=24)
        token_id = token.token_id
        doc = {
            "token_id": token_id,
            "hash": digest(token.secret),
            "label": label,
            "created_at": now,
            "expires_at": None if expires_in_s is None else now + expires_in_s,
            "max_uses": uses,
            "uses": 0,
            "revoked_at": None,
            "version": 1,
        }
        await self._store.insert_token(doc)
        log.info("admission token %s issued (%s)", token_id, label or "no label")
        return token.text, doc

    async def tokens(self, now: float) -> list[dict[str, Any]]:
        return [token_view(doc, now) for doc in await self._store.tokens()]

    async def revoke_token(self, token_id: str, now: float) -> Doc:
        """Revoke a token: it admits no one from now on (Givers it admitted stay)."""
        while True:
            doc = await self._store.token(token_id)
            if doc is None:
                raise UnknownToken(token_id)
            if doc["revoked_at"] is not None:
                return doc
            revoked = {**doc, "revoked_at": now, "version": doc["version"] + 1}
            if await self._store.replace_token(revoked):
                log.info("admission token %s revoked", token_id)
                return revoked

    async def decide(self, info: GiverInfo, token: str, now: float) -> Doc:
        """Admit the Giver `info` describes (its signature already checked), or say why
        not: its admission document, else RegistrationPending or GiverIdTaken."""
        admitted = await self._store.admission(info.giver_id)
        if admitted is not None:
            return _same_key(admitted, info)
        problem = ""
        if token:
            token_id, problem = await self._use_token(token, now)
            if not problem:
                return await self._admit(info, now, via="token", token_id=token_id)
        if self.open_registration:
            return await self._admit(info, now, via="open registration")
        self._wait(info, now, problem)
        because = f"its token was not accepted ({problem}); " if problem else ""
        raise RegistrationPending(
            f"giver {info.giver_id} is not admitted: {because}it waits for an operator "
            f"to run `seeker approve {info.giver_id}` (or to give it a token)",
            giver_id=info.giver_id,
        )

    async def approve(self, giver_id: str, now: float) -> Doc:
        """An operator admits a pending Giver."""
        pending = self._pending.get(giver_id)
        if pending is None:
            raise NotPending(giver_id)
        doc = await self._admit(pending.info, now, via="approval")
        self._pending.pop(giver_id, None)
        return doc

    async def revoke(self, giver_id: str) -> None:
        """Forget a Giver's admission, or drop it from the pending list: it must be
        admitted again to work."""
        was_pending = self._pending.pop(giver_id, None) is not None
        if not await self._store.forget_admission(giver_id) and not was_pending:
            raise NotAdmitted(giver_id)
        log.info("giver %s: admission revoked", giver_id)

    async def admitted(self, giver_id: str) -> Doc | None:
        """The admission of `giver_id` (with the public key it was admitted with), or None."""
        return await self._store.admission(giver_id)

    def pending(self) -> list[dict[str, Any]]:
        return [p.view() for p in self._pending.values()]

    async def _admit(self, info: GiverInfo, now: float, *, via: str, token_id: str = "") -> Doc:
        doc = {
            "giver_id": info.giver_id,
            "public_key": info.public_key,
            "name": info.name,
            "admitted_at": now,
            "via": via,
            "token_id": token_id,
        }
        stored = _same_key(await self._store.admit(doc), info)
        self._pending.pop(info.giver_id, None)
        if stored == doc and via == "approval":
            log.info("giver %s (%s) admitted by %s", info.giver_id, info.name, via)
        elif stored == doc:
            self.arrivals.admitted(info, via)
        return stored

    def _wait(self, info: GiverInfo, now: float, problem: str) -> None:
        pending = self._pending.pop(info.giver_id, None)
        if pending is None:
            self.arrivals.waiting(info, problem)
            pending = Pending(info, now, now)
        pending.info, pending.last_seen, pending.token_problem = info, now, problem
        self._pending[info.giver_id] = pending
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)

    async def _use_token(self, token: str, now: float) -> tuple[str, str]:
        """Count one use of `token`: its id, and why it cannot be used ('' if it can)."""
        given = split_token(token, TOKEN_PREFIX)
        if given is None:
            return "", "it is not a token as `seeker token issue` prints them"
        token_id = given.token_id
        async with self._token_use:
            while True:
                doc = await self._store.token(token_id)
                if doc is None or not matches(doc["hash"], given.secret):
                    return token_id, "it is not a token this Seeker issued"
                problem = _token_problem(doc, now)
                if problem:
                    return token_id, problem
                used = {**doc, "uses": doc["uses"] + 1, "version": doc["version"] + 1}
                if await self._store.replace_token(used):
                    return token_id, ""


def _same_key(admitted: Doc, info: GiverInfo) -> Doc:
    if admitted["public_key"] != info.public_key:
        log.warning("giver %s: refused a registration with a different public key", info.giver_id)
        raise GiverIdTaken(
            f"giver id {info.giver_id} is admitted with another public key",
            giver_id=info.giver_id,
        )
    return admitted


def _token_state(doc: Doc, now: float) -> str:
    """'valid', 'revoked', 'expired' or 'used up'."""
    if doc["revoked_at"] is not None:
        return "revoked"
    if doc["expires_at"] is not None and now >= doc["expires_at"]:
        return "expired"
    if doc["max_uses"] is not None and doc["uses"] >= doc["max_uses"]:
        return "used up"
    return "valid"


def _token_problem(doc: Doc, now: float) -> str:
    """Why the token cannot admit anyone now, or ''."""
    state = _token_state(doc, now)
    if state == "valid":
        return ""
    uses = f" ({doc['uses']} of {doc['max_uses']} uses)" if state == "used up" else ""
    return f"token {doc['token_id']} is {state}{uses}"
