"""Turning a task's settings object into the scraper's settings dataclass."""

import dataclasses
import typing
from typing import Any, TypeVar

from .errors import TaskError

S = TypeVar("S")

SUPPORTED_TYPES: tuple[type, ...] = (str, int, float, bool)


def build_settings(settings_cls: type[S], values: dict[str, Any]) -> S:
    """Build ``settings_cls`` from the task's settings ``values``.

    Unknown names, values of the wrong type, missing required settings and a
    ValueError raised by the dataclass's ``__post_init__`` raise TaskError.
    A settings class with an unsupported field type raises TypeError (a bug in
    the scraper, not in the task).
    """
    types = setting_types(settings_cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise TaskError(
            f"unknown setting {names}; known settings:\n{describe_settings(settings_cls)}"
        )
    missing = [
        f.name for f in _init_fields(settings_cls) if _is_required(f) and f.name not in values
    ]
    if missing:
        raise TaskError(f"missing required setting {missing[0]!r}")
    kwargs = {name: _convert(name, types[name], value) for name, value in values.items()}
    try:
        return settings_cls(**kwargs)
    except ValueError as e:
        raise TaskError(f"invalid settings: {e}") from e


def setting_types(settings_cls: type) -> dict[str, type]:
    """Map each settable field of the dataclass ``settings_cls`` to its type."""
    if not (isinstance(settings_cls, type) and dataclasses.is_dataclass(settings_cls)):
        raise TypeError(f"settings class must be a dataclass, not {settings_cls!r}")
    hints = typing.get_type_hints(settings_cls)
    types = {}
    for f in _init_fields(settings_cls):
        hint = hints[f.name]
        if hint not in SUPPORTED_TYPES:
            raise TypeError(
                f"setting {f.name!r} has unsupported type {hint!r}; use str, int, float or bool"
            )
        types[f.name] = hint
    return types


def describe_settings(settings_cls: type) -> str:
    """One line per setting: name, type, default and help text."""
    types = setting_types(settings_cls)
    lines = []
    for f in _init_fields(settings_cls):
        default = "required" if _is_required(f) else f"default {_default(f)!r}"
        help_text = f.metadata.get("help", "")
        line = f"  {f.name} ({types[f.name].__name__}, {default})"
        lines.append(f"{line}: {help_text}" if help_text else line)
    return "\n".join(lines)


def _convert(name: str, expected: type, value: Any) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, expected) and (expected is bool or not isinstance(value, bool)):
        return value
    raise TaskError(
        f"setting {name!r} must be of type {expected.__name__}, got {type(value).__name__} "
        f"{value!r}"
    )


def _init_fields(settings_cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(settings_cls) if f.init]


def _is_required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()
