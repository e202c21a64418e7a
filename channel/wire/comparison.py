"""What two copies of a result are compared by, as bytes to hash.

Two copies agree when they report the same records (in any order, minus the
`ignore_fields` of their data) and the same keys as done. The Seeker hashes
these bytes for a plain job; for a sealed job, which it cannot read, the Giver
computes a keyed hash of the same bytes over the plaintext before sealing.
"""

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from channel.wire import canonical
from channel.wire.results import KeyOutcome


def comparison_parts(
    records: Iterable[dict[str, Any]],
    outcomes: Iterable[KeyOutcome],
    ignore_fields: Collection[str] = (),
) -> Iterator[bytes]:
    """The bytes to hash, in pieces: each record (sorted, length-prefixed), then
    the keys done."""
    ignored = set(ignore_fields)
    parts = sorted(
        canonical.dumps(
            {"key": r["key"], "data": {k: v for k, v in r["data"].items() if k not in ignored}}
        )
        for r in records
    )
    for part in parts:
        yield len(part).to_bytes(8, "big")
        yield part
    yield canonical.dumps(sorted(o.key for o in outcomes if o.ok))
