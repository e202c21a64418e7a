"""Forms generated from a scraper's settings schema, and the settings a filled form
gives.

A scraper's schema (seeker.catalog.entries) is turned into one `Field` per setting, in
the schema's order: what input it takes (text, a whole number, a number, a
checkbox, a choice among the enum's values, or a list with one value a line),
its default, whether it is required, its bounds and its help text. A form's
values come back as text; `settings_from_form` turns them into the typed
settings a job carries, naming the field of the first value that does not fit,
and leaves out what was left empty so the scraper's default applies.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channel.errors import WireError
from channel.wire import canonical
from seeker.errors import InvalidJob

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


@dataclass(frozen=True, slots=True)
class Field:
    """One setting as a form shows it. `kind` is text, integer, number, checkbox,
    choice or list (`item` says of what: text, integer or number)."""

    name: str
    label: str
    kind: str
    help: str = ""
    required: bool = False
    default: Any = None
    nullable: bool = False
    choices: tuple[Any, ...] = ()
    item: str = ""
    bounds: tuple[tuple[str, float], ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "help": self.help,
            "required": self.required,
            "default": self.default,
            "nullable": self.nullable,
            "choices": list(self.choices),
            "item": self.item,
            "bounds": dict(self.bounds),
        }


_BOUND_WORDS = {
    "minimum": ">=",
    "maximum": "<=",
    "exclusiveMinimum": ">",
    "exclusiveMaximum": "<",
}


def describe(field: Mapping[str, Any]) -> str:
    """A field (as `Field.to_wire` gives it) in a few words, for a terminal: its
    kind, choices, bounds, default and help."""
    kind = f"list of {field['item']}" if field["kind"] == "list" else field["kind"]
    parts = [kind]
    if field["choices"]:
        parts.append("one of " + ", ".join(canonical.dumps(c).decode() for c in field["choices"]))
    for name, value in field["bounds"].items():
        parts.append(f"{_BOUND_WORDS[name]} {value:g}")
    default = canonical.dumps(field["default"]).decode()
    parts.append("required" if field["required"] else f"default {default}")
    text = f"{field['name']} ({'; '.join(parts)})"
    return f"{text}: {field['help']}" if field["help"] else text


_KINDS = {"string": "text", "integer": "integer", "number": "number", "boolean": "checkbox"}


def form_fields(schema: Mapping[str, Any]) -> list[Field]:
    """The fields of a form for settings described by `schema`."""
    required = set(schema.get("required", ()))
    return [
        _field(name, prop, name in required)
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, Mapping)
    ]


def _field(name: str, prop: Mapping[str, Any], required: bool) -> Field:
    types = prop.get("type", "string")
    types = [types] if isinstance(types, str) else list(types)
    nullable = "null" in types
    main = next((t for t in types if t != "null"), "string")
    kind, item = _KINDS.get(main, "text"), ""
    if "enum" in prop:
        kind = "choice"
    elif main == "array":
        items = prop.get("items") or {}
        kind, item = "list", _KINDS.get(items.get("type", "string"), "text")
    return Field(
        name=name,
        label=str(prop.get("title") or _label(name)),
        kind=kind,
        help=str(prop.get("description", "")),
        required=required,
        default=prop.get("default"),
        nullable=nullable,
        choices=tuple(prop.get("enum", ())),
        item=item,
        bounds=tuple((b, float(prop[b])) for b in _BOUNDS if b in prop),
    )


# Name endings that say a unit, and how a label says it.
_UNITS = (
    ("_per_s", " (per second)"),
    ("_s", " (seconds)"),
    ("_ms", " (ms)"),
    ("_bytes", " (bytes)"),
)
_WORDS = {"url": "URL", "id": "ID", "api": "API", "http": "HTTP"}


def _label(name: str) -> str:
    """A label for a setting without a title: `key_timeout_s` is "Key timeout
    (seconds)", `base_url` "Base URL"."""
    unit = ""
    for ending, said in _UNITS:
        if name.endswith(ending) and name != ending.lstrip("_"):
            name, unit = name.removesuffix(ending), said
            break
    words = [_WORDS.get(word, word) for word in name.split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:] + unit


def settings_from_form(schema: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """The settings a form's text `values` give: each converted to its field's type,
    an empty value left out (the default applies), a checkbox true when sent as
    on/true/1. InvalidJob names the first field whose value does not convert; the
    schema itself (bounds, required) is checked when the job is submitted."""
    fields = {f.name: f for f in form_fields(schema)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise InvalidJob(f"settings.{unknown[0]}: is not a setting", field=f"settings.{unknown[0]}")
    settings: dict[str, Any] = {}
    for name, text in values.items():
        field = fields[name]
        if field.kind == "checkbox":
            settings[name] = text.strip().lower() in ("on", "true", "1", "yes")
            continue
        if not text.strip():
            continue
        try:
            settings[name] = _convert(field, text)
        except ValueError as e:
            raise InvalidJob(f"settings.{name}: {e}", field=f"settings.{name}") from e
    return settings


def _convert(field: Field, text: str) -> Any:
    if field.kind == "list":
        return [_scalar(field.item, line.strip()) for line in text.splitlines() if line.strip()]
    if field.kind == "choice":
        for choice in field.choices:
            if text == str(choice):
                return choice
        raise ValueError(f"{text!r} is not one of {', '.join(map(str, field.choices))}")
    return _scalar(field.kind, text.strip() if field.kind != "text" else text)


def _scalar(kind: str, text: str) -> Any:
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
    if kind == "number":
        try:
            value = canonical.loads(text.encode())
        except WireError:
            value = None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{text!r} is not a number")
        return value
    return text
