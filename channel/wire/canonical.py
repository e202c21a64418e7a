"""Canonical JSON: the one place where wire bytes are made and read.

Canonical means sorted keys and no insignificant whitespace, so the same value
always gives the same bytes and a digest or signature over them is stable.
"""

from typing import Any

import orjson

from channel.errors import WireError


def dumps(value: Any) -> bytes:
    """Serialise `value` to canonical JSON bytes."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError as e:
        raise WireError(f"value cannot be serialised to JSON: {e}") from e


def loads(data: bytes | str) -> Any:
    """Parse JSON bytes or text."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise WireError(f"not valid JSON: {e}") from e
