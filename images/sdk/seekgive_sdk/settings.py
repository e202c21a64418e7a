"""Checking a task's settings against the declared settings and building them."""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import TaskError
from .fields import Setting, ValueType

RATE_LIMIT = "rate_limit_per_s"
KEY_TIMEOUT = "key_timeout_s"
STANDARD_NAMES = (RATE_LIMIT, KEY_TIMEOUT)
DEFAULT_RATE_LIMIT_PER_S = 0
DEFAULT_KEY_TIMEOUT_S = 60


@dataclass(frozen=True)
class NoSettings:
    """The settings of a scraper that declares none of its own."""


@dataclass(frozen=True)
class Limits:
    """The standard settings of a run, every scraper has them."""

    rate_limit_per_s: float
    key_timeout_s: float


def standard_settings(rate_limit_per_s: float, key_timeout_s: float) -> tuple[Setting, Setting]:
    """The standard settings with the given defaults, as declared settings."""
    return (
        Setting(
            RATE_LIMIT,
            ValueType("number", constraints={"minimum": 0}),
            required=False,
            default=rate_limit_per_s,
            help="requests started per second, at most (0 = no limit)",
        ),
        Setting(
            KEY_TIMEOUT,
            ValueType("number", constraints={"exclusiveMinimum": 0}),
            required=False,
            default=key_timeout_s,
            help="seconds a key may take before it fails",
        ),
    )


def build_settings(
    settings_class: type, declared: tuple[Setting, ...], values: Mapping[str, Any]
) -> tuple[Any, Limits]:
    """Check the task's settings ``values`` and build ``settings_class`` and the Limits.

    ``declared`` holds the scraper's settings and the standard ones. An unknown
    name, a missing required setting, a value of the wrong type or out of its
    bounds, and a ValueError raised by the dataclass's ``__post_init__`` raise
    TaskError naming the setting.
    """
    known = {setting.name: setting for setting in declared}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise TaskError(
            f"unknown setting {unknown[0]!r} (known: {', '.join(known)})", setting=unknown[0]
        )
    kwargs = {}
    for setting in declared:
        if setting.name in values:
            kwargs[setting.name] = check_value(setting.name, setting.type, values[setting.name])
        elif setting.required:
            raise TaskError(f"missing required setting {setting.name!r}", setting=setting.name)
    limits = Limits(
        rate_limit_per_s=kwargs.pop(RATE_LIMIT, known[RATE_LIMIT].default),
        key_timeout_s=kwargs.pop(KEY_TIMEOUT, known[KEY_TIMEOUT].default),
    )
    try:
        return settings_class(**kwargs), limits
    except ValueError as e:
        raise TaskError(f"invalid settings: {e}") from e


def check_value(name: str, value_type: ValueType, value: Any, where: str = "") -> Any:
    """Return ``value`` as setting ``name`` takes it, or raise TaskError naming the setting.

    An int is accepted for a float (and converted), a float without a
    fractional part for an int. ``where`` locates an array item in messages.
    """
    what = f"setting {name!r}{where}"
    if value is None and value_type.nullable:
        return None
    converted = _convert(value_type.kind, value)
    if converted is _MISMATCH:
        raise TaskError(
            f"{what} must be of type {value_type.describe()}, got {_show(value)}", setting=name
        )
    if value_type.items is not None:
        converted = [
            check_value(name, value_type.items, item, f" item {i}")
            for i, item in enumerate(converted)
        ]
    if value_type.enum is not None and converted not in value_type.enum:
        allowed = ", ".join(repr(v) for v in value_type.enum)
        raise TaskError(f"{what} must be one of {allowed}, got {value!r}", setting=name)
    for keyword, bound in value_type.constraints.items():
        problem = _violation(keyword, bound, converted)
        if problem:
            raise TaskError(f"{what} must {problem}", setting=name)
    return converted


_MISMATCH = object()


def _convert(kind: str, value: Any) -> Any:
    """``value`` converted to ``kind``, or _MISMATCH if it is not one."""
    number = type(value) in (int, float) and math.isfinite(value)
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and type(value) is bool:
        return value
    if kind == "integer" and number and float(value).is_integer():
        return int(value)
    if kind == "number" and number:
        return float(value)
    if kind == "array" and isinstance(value, list):
        return value
    return _MISMATCH


def _violation(keyword: str, bound: Any, value: Any) -> str | None:
    """What ``value`` must do to meet the JSON Schema constraint, or None if it does.

    ``format`` is an annotation for forms and is not checked.
    """
    size = len(value) if isinstance(value, str | list) else 0
    if keyword == "minimum" and value < bound:
        return f"be at least {bound}, got {value!r}"
    if keyword == "maximum" and value > bound:
        return f"be at most {bound}, got {value!r}"
    if keyword == "exclusiveMinimum" and value <= bound:
        return f"be above {bound}, got {value!r}"
    if keyword == "exclusiveMaximum" and value >= bound:
        return f"be below {bound}, got {value!r}"
    if keyword == "minLength" and size < bound:
        return f"be at least {bound} characters long, got {size}"
    if keyword == "maxLength" and size > bound:
        return f"be at most {bound} characters long, got {size}"
    if keyword == "minItems" and size < bound:
        return f"have at least {bound} items, got {size}"
    if keyword == "maxItems" and size > bound:
        return f"have at most {bound} items, got {size}"
    if keyword == "pattern" and re.search(bound, value) is None:
        return f"match the pattern {bound!r}, got {value!r}"
    return None


def _show(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"
