"""The form that submits a job of a catalog scraper: its job fields (name, keys,
block size, priority, replicas, network) and one field per setting of the
scraper's schema (seeker.catalog.forms). A filled form becomes the JSON body POST
/api/v1/jobs takes, or an InvalidForm naming every field that does not fit;
an InvalidJob from the submission itself is put next to the field it names."""

import math
from collections.abc import Mapping
from typing import Any

from channel.wire.models import NETWORK_MODES
from seeker.catalog.entries import Scraper
from seeker.catalog.forms import Field, form_fields, settings_from_form
from seeker.errors import InvalidForm, InvalidJob
from seeker.work.sources import MAX_KEY, MIN_KEY
from seeker.work.spec import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_PRIORITY,
    MAX_BLOCK_SIZE,
    MAX_PRIORITY,
    MAX_REPLICAS,
)

SETTING = "settings."
MAX_NAME_CHARS = 200
# The job fields as numbers the form asks for: (default, lowest, highest).
WHOLE_FIELDS = {
    "block_size": (DEFAULT_BLOCK_SIZE, 1, MAX_BLOCK_SIZE),
    "priority": (DEFAULT_PRIORITY, 1, MAX_PRIORITY),
    "replicas": (1, 1, MAX_REPLICAS),
}
# Where an error of the job's spec (its `field`) shows on the form.
_FIELD_OF_SPEC = {"range": "range_first", "ranges": "range_first", "images": "", "image": ""}


def default_values(entry: Scraper) -> dict[str, str]:
    """A fresh form's values: the job fields' defaults and the settings' defaults."""
    values = {name: str(default) for name, (default, _, _) in WHOLE_FIELDS.items()}
    values.update(source="range", network="bridge" if entry.resources.network else "none")
    for field in form_fields(entry.schema):
        values[SETTING + field.name] = _shown(field)
    return values


def _shown(field: Field) -> str:
    if field.default is None:
        return ""
    if field.kind == "list":
        return "\n".join(str(item) for item in field.default)
    if field.kind == "checkbox":
        return "on" if field.default else ""
    return str(field.default)


def html_bounds(field: Field) -> dict[str, str]:
    """A setting's bounds as input attributes: min/max where HTML can say them, and
    exclusive bounds of a number for the page's script to check."""
    attrs: dict[str, str] = {}
    for bound, value in field.bounds:
        if bound in ("minimum", "maximum"):
            attrs["min" if bound == "minimum" else "max"] = f"{value:g}"
        elif field.kind == "integer" or field.item == "integer":
            edge = math.floor(value) + 1 if bound == "exclusiveMinimum" else math.ceil(value) - 1
            attrs["min" if bound == "exclusiveMinimum" else "max"] = str(edge)
        else:
            name = "data-above" if bound == "exclusiveMinimum" else "data-below"
            attrs[name] = f"{value:g}"
    return attrs


def job_body(entry: Scraper, form: Mapping[str, str]) -> dict[str, Any]:
    """The job a filled form asks for (an unchecked checkbox is not sent, so it is
    false); InvalidForm with every field that does not fit."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"scraper": entry.name}
    name = form.get("name", "").strip()
    if len(name) > MAX_NAME_CHARS:
        errors["name"] = f"at most {MAX_NAME_CHARS} characters"
    elif name:
        body["name"] = name
    _keys(form, body, errors)
    for field, (default, low, high) in WHOLE_FIELDS.items():
        value = _whole(form.get(field, ""), low, high, errors, field)
        if value is not None and value != default:
            body[field] = value
    network = form.get("network", "")
    if network not in NETWORK_MODES:
        errors["network"] = f"choose one of {', '.join(NETWORK_MODES)}"
    else:
        body["network"] = network
    settings = _settings(entry, form, errors)
    if settings:
        body["settings"] = settings
    if errors:
        raise InvalidForm(_summary(errors), errors=errors)
    return body


def _keys(form: Mapping[str, str], body: dict[str, Any], errors: dict[str, str]) -> None:
    if form.get("source") == "keys":
        keys = [line.strip() for line in form.get("keys", "").splitlines() if line.strip()]
        if keys:
            body["keys"] = keys
        else:
            errors["keys"] = "give at least one key, one a line"
        return
    first = _whole(form.get("range_first", ""), MIN_KEY, MAX_KEY - 1, errors, "range_first")
    last = _whole(form.get("range_last", ""), MIN_KEY, MAX_KEY - 1, errors, "range_last")
    if first is not None and last is not None:
        if last < first:
            errors["range_last"] = "must be at least the first key"
        else:
            body["range"] = [first, last + 1]


def _whole(text: str, low: int, high: int, errors: dict[str, str], field: str) -> int | None:
    try:
        value = int(text.strip())
    except ValueError:
        errors[field] = "enter a whole number" if text.strip() else "required"
        return None
    if not low <= value <= high:
        errors[field] = f"must be from {low:,} to {high:,}"
        return None
    return value


def _settings(entry: Scraper, form: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The settings the form gives, each converted and then checked against the
    scraper's schema; what does not fit goes into `errors`."""
    settings: dict[str, Any] = {}
    for field in form_fields(entry.schema):
        key = SETTING + field.name
        try:
            settings.update(settings_from_form(entry.schema, {field.name: form.get(key, "")}))
        except InvalidJob as e:
            errors[key] = str(e).removeprefix(f"{key}: ")
    for where, message in entry.problems(settings):
        errors.setdefault(where, message)
    return settings


def _summary(errors: dict[str, str]) -> str:
    fields = [name.removeprefix(SETTING) for name in errors if name]
    return "Check " + ", ".join(fields) + "." if fields else errors.get("", "")


def spec_error(e: InvalidJob) -> InvalidForm:
    """A submission's InvalidJob as the form shows it: next to the field it names."""
    where = _FIELD_OF_SPEC.get(e.field, e.field)
    return InvalidForm(str(e), errors={where: str(e)})
