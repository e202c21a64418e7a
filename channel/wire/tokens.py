"""Bearer tokens, made, requested and checked in one place for every kind the grid
issues: admission tokens that let Givers in (`sgt_…`, seeker.grid.admission),
operator tokens (`sgo_…`, seeker.access.operators) and reader tokens for the
Channel (`sgr_…`, channel.store.readers).

A token is shown once, when it is issued; stores keep only a SHA-256 digest,
compared in constant time. Every kind is requested alike: a label of one line
and a lifetime, each optional (`read_request`, `check_request`).
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from channel.errors import WireError

MAX_LABEL_CHARS = 200
ID_BYTES = 4


class TokenRequestError(WireError):
    """A request for a token that cannot be granted; `field` names the part ("" for
    the whole request)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Token:
    """A token as it is shown once: `text`, made of its kind's prefix, its public
    `token_id` and its `secret`."""

    token_id: str
    secret: str
    text: str


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What every request for a token may ask: a label, a lifetime, and (admission
    tokens) how many uses."""

    label: str = ""
    expires_in_s: float | None = None
    uses: int | None = None


def secret(nbytes: int = 32) -> str:
    """A random secret of `nbytes` bytes, as URL-safe text."""
    return secrets.token_urlsafe(nbytes)


def new_token(prefix: str, *, secret_bytes: int = 32) -> Token:
    """A new token `PREFIX_ID_SECRET`."""
    token_id, hidden = secrets.token_hex(ID_BYTES), secret(secret_bytes)
    return Token(token_id, hidden, f"{prefix}_{token_id}_{hidden}")


def split_token(text: str, prefix: str) -> Token | None:
    """The parts of a `PREFIX_ID_SECRET` token, or None if `text` is not one."""
    given, _, rest = text.partition("_")
    token_id, _, hidden = rest.partition("_")
    if given != prefix or not token_id or not hidden:
        return None
    return Token(token_id, hidden, text)


def digest(text: str) -> str:
    """What a store keeps of a token (or of its secret): SHA-256, hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def matches(stored: str, text: str) -> bool:
    """Whether `text` is what the `stored` digest was made of (constant time)."""
    return hmac.compare_digest(stored, digest(text))


# Raises the error a request is refused with: called with the message and `field=`.
Refusal = Callable[..., Exception]


def read_request(
    body: Any, *, what: str, fields: Sequence[str], error: Refusal = TokenRequestError
) -> TokenRequest:
    """The label, lifetime and uses of a JSON request for a `what`, checked by
    `check_request`; `fields` are all the request may name (any besides those three
    are the caller's to read). A request refused raises `error`."""
    if not isinstance(body, dict) or set(body) - set(fields):
        named = ", ".join(fields[:-1]) + f" and {fields[-1]}" if len(fields) > 1 else fields[0]
        raise error(f"a {what} request is an object with {named}, each optional", field="")
    label, expires_in_s, uses = body.get("label", ""), body.get("expires_in_s"), body.get("uses")
    if not isinstance(label, str):
        raise error("label must be a string", field="label")
    if expires_in_s is not None and (
        isinstance(expires_in_s, bool) or not isinstance(expires_in_s, int | float)
    ):
        raise error("expires_in_s must be a number of seconds", field="expires_in_s")
    if uses is not None and (isinstance(uses, bool) or not isinstance(uses, int)):
        raise error("uses must be a whole number", field="uses")
    request = TokenRequest(label, expires_in_s, uses)
    check_request(request, error=error)
    return request


def check_request(request: TokenRequest, *, error: Refusal = TokenRequestError) -> None:
    """Raise `error` unless the label is one line of at most MAX_LABEL_CHARS, the
    lifetime (if any) above 0 and the uses (if any) at least 1."""
    if len(request.label) > MAX_LABEL_CHARS or "\n" in request.label:
        raise error(
            f"label must be one line of at most {MAX_LABEL_CHARS} characters", field="label"
        )
    if request.expires_in_s is not None and not request.expires_in_s > 0:
        raise error(
            f"expires_in_s must be positive, got {request.expires_in_s}", field="expires_in_s"
        )
    if request.uses is not None and request.uses < 1:
        raise error(f"uses must be at least 1, got {request.uses}", field="uses")
