"""Telling a server that lacks an option (FerretDB 1.x refusing a TTL or partial
index) from one that refuses the command for what it asks, as the MongoDB stores
do once at open to choose between a MongoDB feature and its fallback."""

import pytest
from pymongo.errors import OperationFailure

from channel.store.mongoclient import lacks_option

pytestmark = pytest.mark.unit


def refusal(code: int, message: str) -> OperationFailure:
    return OperationFailure(message, code, {"ok": 0.0, "errmsg": message, "code": code})


def test_an_option_the_server_has_not_implemented_is_lacked() -> None:
    assert lacks_option(refusal(238, 'Index option "expireAfterSeconds" is not implemented yet'))
    assert lacks_option(refusal(197, "The field 'partialFilterExpression' is not valid"))


def test_other_refusals_are_not_taken_for_a_lacked_option() -> None:
    assert not lacks_option(refusal(13, "not authorized on seekgive to execute command"))
    assert not lacks_option(refusal(85, "Index already exists with a different name"))
