"""Reading a submission's numbers: whole numbers within bounds, each error naming
the field it is about."""

from typing import Any

from seeker.errors import InvalidJob


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def whole(
    body: dict[str, Any], name: str, default: int, low: int, high: int | None, where: str = ""
) -> int:
    value = body.get(name, default)
    if not is_int(value) or value < low or (high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InvalidJob(
            f"{where}{name} must be a whole number {limit}", field=where.split(".")[0] or name
        )
    return value
