"""Reading a scraper's settings dataclass into a model of its settings.

The model (:class:`Setting`, :class:`ValueType`) is what the SDK validates
task settings against and what it turns into JSON Schema. A field type or
metadata the model cannot express raises TypeError: a bug in the scraper.
"""

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

KIND_OF_TYPE: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
PYTHON_NAME = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}

NUMBER_METADATA = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusive_minimum": "exclusiveMinimum",
    "exclusive_maximum": "exclusiveMaximum",
}
LENGTH_METADATA = {"min_length": "min", "max_length": "max"}
STRING_METADATA = {"pattern": "pattern", "format": "format"}
TEXT_METADATA = ("help", "title")
KNOWN_METADATA = (*NUMBER_METADATA, *LENGTH_METADATA, *STRING_METADATA, *TEXT_METADATA)


@dataclass(frozen=True)
class ValueType:
    """The type of a setting's value, with its JSON Schema constraints.

    ``kind`` is a JSON Schema type. ``enum`` lists the allowed values of a
    ``Literal``; ``items`` is the type of an array's items. ``constraints``
    maps JSON Schema keywords (``minimum``, ``maxLength``, ``pattern``...)
    to their values; for an array, only ``minItems``/``maxItems``, the rest
    being on ``items``.
    """

    kind: Literal["string", "integer", "number", "boolean", "array"]
    enum: tuple[str | int, ...] | None = None
    items: "ValueType | None" = None
    nullable: bool = False
    constraints: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        """The type in Python's words: ``int``, ``list[str]``, ``'a' | 'b'``, ``str | None``."""
        if self.enum is not None:
            text = " | ".join(repr(value) for value in self.enum)
        elif self.items is not None:
            text = f"list[{self.items.describe()}]"
        else:
            text = PYTHON_NAME[self.kind]
        return f"{text} | None" if self.nullable else text


@dataclass(frozen=True)
class Setting:
    """One setting: its name, type, default (if not ``required``) and texts."""

    name: str
    type: ValueType
    required: bool
    default: Any = None
    help: str = ""
    title: str | None = None


def read_fields(settings_class: type) -> tuple[Setting, ...]:
    """The settings declared by the dataclass ``settings_class``, in field order.

    Raises TypeError for a class that is not a dataclass, an unsupported field
    type, unknown or misapplied metadata, or a default of the wrong type.
    """
    if not (isinstance(settings_class, type) and dataclasses.is_dataclass(settings_class)):
        raise TypeError(f"settings class must be a dataclass, not {settings_class!r}")
    hints = typing.get_type_hints(settings_class)
    settings = []
    for f in dataclasses.fields(settings_class):
        if f.init:
            settings.append(_read_field(f, hints[f.name]))
    return tuple(settings)


def _read_field(f: dataclasses.Field[Any], hint: Any) -> Setting:
    where = f"setting {f.name!r}"
    metadata = dict(f.metadata)
    unknown = sorted(set(metadata) - set(KNOWN_METADATA))
    if unknown:
        raise TypeError(
            f"{where}: unknown metadata {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(KNOWN_METADATA)})"
        )
    for key in TEXT_METADATA:
        if not isinstance(metadata.get(key, ""), str):
            raise TypeError(f"{where}: metadata {key!r} must be a string")
    value_type = _with_constraints(where, _value_type(where, hint), metadata)
    required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    default = None
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    return Setting(
        name=f.name,
        type=value_type,
        required=required,
        default=default,
        help=metadata.get("help", ""),
        title=metadata.get("title"),
    )


def _value_type(where: str, hint: Any) -> ValueType:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1:
            return dataclasses.replace(_value_type(where, rest[0]), nullable=True)
    elif hint in KIND_OF_TYPE:
        return ValueType(KIND_OF_TYPE[hint])  # type: ignore[arg-type]
    elif origin is Literal:
        if all(isinstance(arg, str) for arg in args):
            return ValueType("string", enum=args)
        if all(type(arg) is int for arg in args):
            return ValueType("integer", enum=args)
    elif origin is list and len(args) == 1 and args[0] in (str, int, float):
        return ValueType("array", items=ValueType(KIND_OF_TYPE[args[0]]))  # type: ignore[arg-type]
    raise TypeError(
        f"{where} has unsupported type {hint!r}; use str, int, float, bool, Literal[...] of "
        "str or of int, list[str], list[int], list[float], or one of these | None"
    )


def _with_constraints(where: str, value_type: ValueType, metadata: dict[str, Any]) -> ValueType:
    """``value_type`` with the constraints that ``metadata`` asks for; TypeError if misapplied."""
    scalar = value_type.items or value_type
    own: dict[str, Any] = {}
    scalar_constraints: dict[str, Any] = {}
    for key, keyword in NUMBER_METADATA.items():
        if key in metadata:
            value = metadata[key]
            if scalar.kind not in ("integer", "number") or scalar.enum is not None:
                raise TypeError(f"{where}: metadata {key!r} applies to int and float settings")
            if type(value) not in (int, float):
                raise TypeError(f"{where}: metadata {key!r} must be a number, not {value!r}")
            scalar_constraints[keyword] = value
    for key, bound in LENGTH_METADATA.items():
        if key in metadata:
            value = metadata[key]
            if type(value) is not int or value < 0:
                raise TypeError(f"{where}: metadata {key!r} must be an integer >= 0")
            if value_type.kind == "array":
                own[f"{bound}Items"] = value
            elif value_type.kind == "string" and value_type.enum is None:
                own[f"{bound}Length"] = value
            else:
                raise TypeError(f"{where}: metadata {key!r} applies to str and list settings")
    for key, keyword in STRING_METADATA.items():
        if key in metadata:
            value = metadata[key]
            if scalar.kind != "string" or scalar.enum is not None:
                raise TypeError(f"{where}: metadata {key!r} applies to str settings")
            if not isinstance(value, str):
                raise TypeError(f"{where}: metadata {key!r} must be a string")
            if key == "pattern":
                try:
                    re.compile(value)
                except re.error as e:
                    raise TypeError(f"{where}: bad pattern {value!r}: {e}") from e
            scalar_constraints[keyword] = value
    if value_type.items is not None:
        items = dataclasses.replace(value_type.items, constraints=scalar_constraints)
        return dataclasses.replace(value_type, items=items, constraints=own)
    return dataclasses.replace(value_type, constraints={**scalar_constraints, **own})
