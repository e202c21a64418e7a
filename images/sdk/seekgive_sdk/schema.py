"""What a declaration says about itself: JSON Schema, image labels and help text."""

import json
from typing import Any

from .declaration import Declaration
from .fields import Setting, ValueType
from .settings import STANDARD_NAMES
from .version import CONTRACT_VERSION

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_LABEL = "seekgive.settings-schema"
CONTRACT_LABEL = "seekgive.contract"
RESOURCES_LABEL = "seekgive.resources"
TITLE_LABEL = "org.opencontainers.image.title"
DESCRIPTION_LABEL = "org.opencontainers.image.description"

CONSTRAINT_WORDS = {
    "minimum": ">= {}",
    "maximum": "<= {}",
    "exclusiveMinimum": "> {}",
    "exclusiveMaximum": "< {}",
    "minLength": "length >= {}",
    "maxLength": "length <= {}",
    "minItems": "items >= {}",
    "maxItems": "items <= {}",
    "pattern": "pattern {!r}",
    "format": "format {}",
}


def settings_schema(declaration: Declaration) -> dict[str, Any]:
    """The settings as a JSON Schema (draft 2020-12) object, standard settings last."""
    return {
        "$schema": SCHEMA_DIALECT,
        "title": declaration.name,
        "description": declaration.description,
        "type": "object",
        "additionalProperties": False,
        "required": [setting.name for setting in declaration.settings if setting.required],
        "properties": {setting.name: _property(setting) for setting in declaration.settings},
    }


def labels(declaration: Declaration) -> dict[str, str]:
    """The image labels that describe the scraper, all values strings."""
    return {
        SCHEMA_LABEL: _compact(settings_schema(declaration)),
        CONTRACT_LABEL: str(CONTRACT_VERSION),
        RESOURCES_LABEL: _compact(declaration.resources.to_label()),
        TITLE_LABEL: declaration.name,
        DESCRIPTION_LABEL: declaration.description,
    }


def help_text(declaration: Declaration, program: str) -> str:
    """The scraper, its commands and its settings in words."""
    own = [s for s in declaration.settings if s.name not in STANDARD_NAMES]
    standard = [s for s in declaration.settings if s.name in STANDARD_NAMES]
    heading = declaration.name
    if declaration.description:
        heading += f": {declaration.description}"
    lines = [
        heading,
        "",
        f"usage: {program} [schema | labels | --help]",
        "  without arguments: run the task in $SEEKGIVE_INPUT (default /input/task.json),",
        "    writing to $SEEKGIVE_OUTPUT (default /output)",
        "  schema: print the settings as JSON Schema",
        "  labels: print the image labels as JSON",
        "",
        "Settings:",
        *([_describe(s) for s in own] or ["  (none)"]),
        "Standard settings:",
        *[_describe(s) for s in standard],
    ]
    return "\n".join(lines)


def _property(setting: Setting) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if setting.title is not None:
        schema["title"] = setting.title
    schema.update(_type_schema(setting.type))
    if not setting.required:
        schema["default"] = setting.default
    if setting.help:
        schema["description"] = setting.help
    return schema


def _type_schema(value_type: ValueType) -> dict[str, Any]:
    kind = value_type.kind
    schema: dict[str, Any] = {"type": [kind, "null"] if value_type.nullable else kind}
    if value_type.enum is not None:
        schema["enum"] = [*value_type.enum, *([None] if value_type.nullable else [])]
    if value_type.items is not None:
        schema["items"] = _type_schema(value_type.items)
    schema.update(value_type.constraints)
    return schema


def _describe(setting: Setting) -> str:
    """``  name (type, default X, >= 1): help``."""
    facts = [setting.type.describe()]
    facts.append("required" if setting.required else f"default {setting.default!r}")
    facts += [CONSTRAINT_WORDS[k].format(v) for k, v in setting.type.constraints.items()]
    if setting.type.items is not None:
        item_constraints = setting.type.items.constraints.items()
        facts += ["each " + CONSTRAINT_WORDS[k].format(v) for k, v in item_constraints]
    line = f"  {setting.name} ({', '.join(facts)})"
    return f"{line}: {setting.help}" if setting.help else line


def _compact(value: object) -> str:
    return json.dumps(value, allow_nan=False, separators=(",", ":"))
