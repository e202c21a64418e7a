"""The form that adds a schedule: its name, when it ticks (every so many minutes,
or a cron expression in a time zone), what a tick does while the last job still
runs, and its job as the JSON body POST /api/v1/jobs takes. A filled form
becomes the body POST /api/v1/schedules takes, or an InvalidForm naming every
field that does not fit; an InvalidSchedule from adding it is put next to the
field it names."""

from collections.abc import Mapping
from typing import Any

from channel.errors import WireError
from channel.wire import canonical
from seeker.errors import InvalidForm, InvalidSchedule
from seeker.schedules.model import MAX_EVERY_S, MIN_EVERY_S, Overlap

MIN_EVERY_MIN = MIN_EVERY_S // 60
MAX_EVERY_MIN = MAX_EVERY_S // 60
EXAMPLE_JOB = '{"scraper": "NAME", "range": [1, 100], "settings": {}}'
# Where an error of the schedule (its `field`) shows on the form.
_FIELD_OF_SCHEDULE = {"every_s": "every_min", "keep_runs": "", "paused": ""}


def fresh_values() -> dict[str, str]:
    return {"timing": "every", "every_min": "1440", "timezone": "UTC", "overlap": "skip"}


def schedule_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The schedule a filled form asks for; InvalidForm with every field that does
    not fit."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"name": form.get("name", "").strip()}
    if not body["name"]:
        errors["name"] = "required"
    if form.get("timing") == "cron":
        body["cron"] = form.get("cron", "").strip()
        body["timezone"] = form.get("timezone", "").strip() or "UTC"
        if not body["cron"]:
            errors["cron"] = "required: five fields, such as 0 3 * * *"
    else:
        text = form.get("every_min", "").strip()
        if not text.isascii() or not text.isdigit():
            errors["every_min"] = "enter a whole number of minutes" if text else "required"
        elif not MIN_EVERY_MIN <= int(text) <= MAX_EVERY_MIN:
            errors["every_min"] = f"must be from {MIN_EVERY_MIN} to {MAX_EVERY_MIN:,}"
        else:
            body["every_s"] = int(text) * 60
    overlap = form.get("overlap", "")
    if overlap not in tuple(Overlap):
        errors["overlap"] = f"choose one of {', '.join(Overlap)}"
    body["overlap"] = overlap
    body["job"] = _job(form.get("job", ""), errors)
    if errors:
        fields = ", ".join(name for name in errors if name)
        raise InvalidForm(f"Check {fields}.", errors=errors)
    return body


def _job(text: str, errors: dict[str, str]) -> Any:
    if not text.strip():
        errors["job"] = f"required: the job as JSON, such as {EXAMPLE_JOB}"
        return None
    try:
        job = canonical.loads(text.encode())
    except WireError as e:
        errors["job"] = str(e)
        return None
    if not isinstance(job, dict):
        errors["job"] = "must be a JSON object, such as " + EXAMPLE_JOB
    return job


def schedule_error(e: InvalidSchedule) -> InvalidForm:
    """Adding the schedule's InvalidSchedule as the form shows it: next to the field
    it names (a field of its job next to the job)."""
    field = "job" if e.field.startswith("job") else e.field
    where = _FIELD_OF_SCHEDULE.get(field, field)
    return InvalidForm(str(e), errors={where: str(e)})
