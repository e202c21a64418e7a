"""Pure logic behind the admin pages: numbers for people, the generated job form
turned into a job body, and a page of records as a table."""

import pytest

from seeker.admin.record_table import MAX_CHARS, MAX_COLUMNS, Cell, record_table
from seeker.admin.submit_form import default_values, html_bounds, job_body
from seeker.catalog.entries import Resources, Scraper
from seeker.catalog.forms import form_fields
from seeker.errors import InvalidForm
from seeker.views import display

pytestmark = pytest.mark.unit

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["token"],
    "properties": {
        "token": {"type": "string", "minLength": 1},
        "pages": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 51, "default": 3},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.5},
        "mode": {"type": "string", "enum": ["fast", "full"], "default": "fast"},
        "tags": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
        "strict": {"type": "boolean", "default": True},
    },
}
ENTRY = Scraper("shop", "A shop.", 1, SCHEMA, Resources(network=True))
FORM = {
    "source": "range",
    "range_first": "1",
    "range_last": "20",
    "block_size": "100",
    "priority": "10",
    "replicas": "1",
    "network": "bridge",
    "settings.token": "t0k",
    "settings.pages": "3",
    "settings.ratio": "0.5",
    "settings.mode": "fast",
    "settings.tags": "a\nb",
}


def test_numbers_read_as_people_say_them() -> None:
    assert display.count(1234567.4) == "1,234,567"
    assert [display.rate(r) for r in (None, 0, 3.24, 12.0, 99.96, 1234.5)] == [
        "\u2014",
        "0 keys/s",
        "3.2 keys/s",
        "12 keys/s",
        "100 keys/s",
        "1,234 keys/s",
    ]
    assert [display.duration(s) for s in (0.4, 59.6, 250, 3600, 7505, 90061)] == [
        "under 1 s",
        "1 min",
        "4 min 10 s",
        "1 h",
        "2 h 5 min",
        "1 d 1 h",
    ]
    assert [display.ago(t, 1000.0) for t in (None, 999.7, 988, 700, 4600)] == [
        "never",
        "just now",
        "12 s ago",
        "5 min ago",
        "in 1 h",
    ]
    assert display.stamp_utc(0) == "" and display.stamp_utc(86400) == "1970-01-02 00:00:00 UTC"
    assert (display.percent(19, 20), display.percent(0, 0)) == (95, 100)
    assert [display.latency(ms) for ms in (None, 0.42, 12.4, 999.6, 1500)] == [
        "\u2014",
        "0.4 ms",
        "12 ms",
        "1.0 s",
        "1.5 s",
    ]
    assert [display.size(n) for n in (None, 100, 1536, 256 * 2**20)] == [
        "\u2014",
        "100 B",
        "1.5 KiB",
        "256 MiB",
    ]


def test_the_form_gives_the_job_body_leaving_defaults_out() -> None:
    assert job_body(ENTRY, FORM) == {
        "scraper": "shop",
        "range": [1, 21],
        "network": "bridge",
        "settings": {
            "token": "t0k",
            "pages": 3,
            "ratio": 0.5,
            "mode": "fast",
            "tags": ["a", "b"],
            "strict": False,
        },
    }
    keys = {**FORM, "source": "keys", "keys": " a\n\nb \n", "name": " n ", "replicas": "2"}
    body = job_body(ENTRY, {**keys, "settings.strict": "on"})
    assert (body["keys"], body["name"], body["replicas"]) == (["a", "b"], "n", 2)
    assert body["settings"]["strict"] is True and "range" not in body


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"range_first": "x", "range_last": ""},
            {"range_first": "enter a whole number", "range_last": "required"},
        ),
        ({"range_last": "0"}, {"range_last": "must be at least the first key"}),
        ({"source": "keys", "keys": "\n"}, {"keys": "give at least one key, one a line"}),
        ({"block_size": "10001"}, {"block_size": "must be from 1 to 10,000"}),
        ({"network": "wifi"}, {"network": "choose one of none, host, bridge"}),
        ({"settings.token": ""}, {"settings.token": "is required"}),
        (
            {"settings.pages": "51"},
            {"settings.pages": "51 is greater than or equal to the maximum of 51"},
        ),
        ({"settings.pages": "2.5"}, {"settings.pages": "'2.5' is not a whole number"}),
        ({"settings.mode": "slow"}, {"settings.mode": "'slow' is not one of fast, full"}),
    ],
)
def test_every_bad_field_is_named(changes: dict[str, str], errors: dict[str, str]) -> None:
    with pytest.raises(InvalidForm) as raised:
        job_body(ENTRY, {**FORM, **changes})
    assert raised.value.errors == errors


def test_bounds_become_input_attributes_and_defaults_fill_a_fresh_form() -> None:
    fields = {f.name: f for f in form_fields(SCHEMA)}
    assert html_bounds(fields["pages"]) == {"min": "1", "max": "50"}
    assert html_bounds(fields["ratio"]) == {"data-above": "0", "max": "1"}
    values = default_values(ENTRY)
    assert (values["settings.tags"], values["settings.strict"], values["network"]) == (
        "a\nb",
        "on",
        "bridge",
    )
    assert (values["block_size"], values["source"], values["settings.token"]) == (
        "100",
        "range",
        "",
    )


async def test_a_page_of_records_becomes_a_table_of_bounded_columns_and_cells() -> None:
    wide = {f"f{n}": n for n in range(MAX_COLUMNS + 2)}
    records = [
        {
            "key": "1",
            "data": {"title": "x" * 100, "tags": ["a"], "ok": True},
            "giver_id": "g1",
            "task_id": "t.0",
        },
        {"key": 2, "data": {"price": None, **wide}, "giver_id": "g2", "task_id": "t.1"},
        {"key": "3", "sealed": "c2VhbGVk", "giver_id": "gone", "task_id": "t.2"},
    ]
    table = await record_table(records, {"g1": "giver-1", "g2": "giver-2"}.get)
    assert table.columns == ["title", "tags", "ok", "price", "f0", "f1"][:MAX_COLUMNS]
    assert table.hidden == len(wide) + 5 - MAX_COLUMNS
    first, second, third = table.rows
    assert (first.key, first.giver, second.key, second.giver) == ("1", "giver-1", "2", "giver-2")
    title, tags, ok = first.cells[:3]
    assert len(title.text) == MAX_CHARS and title.text.endswith("\u2026")
    assert title.full == "x" * 100
    assert (tags, ok) == (Cell('["a"]'), Cell("true"))
    assert second.cells[3] == Cell("") and second.cells[4] == Cell("0")
    # A Giver no longer registered shows by its id; a sealed record has no fields to show.
    assert third.giver == "gone" and all(cell == Cell("") for cell in third.cells)
