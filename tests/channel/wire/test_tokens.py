"""Bearer tokens of every kind are made, requested and checked by one helper."""

import pytest

from channel.wire.tokens import (
    MAX_LABEL_CHARS,
    TokenRequest,
    TokenRequestError,
    digest,
    matches,
    new_token,
    read_request,
    split_token,
)

pytestmark = pytest.mark.unit


def test_a_token_splits_back_into_its_id_and_secret_and_only_its_digest_matches() -> None:
    token = new_token("sgt", secret_bytes=24)
    assert token.text == f"sgt_{token.token_id}_{token.secret}"
    assert split_token(token.text, "sgt") == token
    assert split_token(token.text, "sgo") is None
    assert split_token("sgt_only", "sgt") is None
    stored = digest(token.secret)
    assert matches(stored, token.secret) and not matches(stored, token.text)


def test_a_request_reads_its_label_lifetime_and_uses() -> None:
    fields = ("label", "expires_in_s", "uses")
    asked = read_request(
        {"label": "lab", "expires_in_s": 60, "uses": 2}, what="token", fields=fields
    )
    assert asked == TokenRequest("lab", 60, 2)
    assert read_request({}, what="token", fields=fields) == TokenRequest()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ([], "", "a token request is an object with label and expires_in_s, each optional"),
        ({"uses": 2}, "", "a token request is an object with label and expires_in_s"),
        ({"label": 7}, "label", "label must be a string"),
        ({"label": "a\nb"}, "label", f"label must be one line of at most {MAX_LABEL_CHARS}"),
        ({"label": "x" * (MAX_LABEL_CHARS + 1)}, "label", "label must be one line"),
        ({"expires_in_s": True}, "expires_in_s", "expires_in_s must be a number of seconds"),
        ({"expires_in_s": 0}, "expires_in_s", "expires_in_s must be positive, got 0"),
    ],
)
def test_a_request_that_cannot_be_granted_names_its_field(
    body: object, field: str, message: str
) -> None:
    with pytest.raises(TokenRequestError, match=message) as refused:
        read_request(body, what="token", fields=("label", "expires_in_s"))
    assert refused.value.field == field


def test_a_request_is_refused_in_the_callers_own_error() -> None:
    class Refused(Exception):
        def __init__(self, message: str, *, field: str) -> None:
            super().__init__(message)
            self.field = field

    with pytest.raises(Refused, match="uses must be at least 1, got 0"):
        read_request({"uses": 0}, what="token", fields=("uses",), error=Refused)
