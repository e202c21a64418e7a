"""Signing and verifying results: a digest of the records, a signed header."""

import dataclasses
import hashlib
from typing import Any

from channel.errors import InvalidResult
from channel.wire import canonical
from channel.wire.identity import Identity, verify_value
from channel.wire.results import Result


def records_digest(records: list[dict[str, Any]]) -> str:
    """Hex SHA-256 of the canonical JSON of `records`."""
    return hashlib.sha256(canonical.dumps(records)).hexdigest()


def sign_result(identity: Identity, result: Result) -> Result:
    """Return `result` with its digest and the identity's signature filled in."""
    digested = dataclasses.replace(
        result, giver_id=identity.id, digest=records_digest(result.records)
    )
    return dataclasses.replace(digested, signature=identity.sign_value(digested.header()))


def verify_signature(result: Result, public_key: str) -> None:
    """Raise InvalidResult unless `result`'s header is signed by `public_key` (the
    records are checked against the header's digest as they arrive)."""
    if not verify_value(public_key, result.header(), result.signature):
        raise InvalidResult(
            f"result {result.result_id}: signature does not verify for giver {result.giver_id}",
            result_id=result.result_id,
            giver_id=result.giver_id,
        )
