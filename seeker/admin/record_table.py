"""A page of a job's records as a table: the key, the Giver, and one column per
data field the records use (the first MAX_COLUMNS of them, in order of first
use), each value as the CSV download writes it, long ones cut short."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from channel.store.export import cell, data_fields

MAX_COLUMNS = 6
MAX_CHARS = 60


@dataclass(frozen=True, slots=True)
class Cell:
    """What a cell shows, and the whole value when that was cut short ("" if not)."""

    text: str
    full: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    giver: str
    giver_id: str
    task_id: str
    cells: list[Cell]


@dataclass(frozen=True, slots=True)
class RecordTable:
    """`hidden` counts the data fields the page's records use beyond `columns`."""

    columns: list[str]
    hidden: int
    rows: list[Row]


async def record_table(records: list[dict[str, Any]], names: Callable[[str], str]) -> RecordTable:
    """`records` (as seeker.views.records gives them) as a table; `names` gives a
    Giver's name by its id."""

    async def read() -> AsyncIterator[dict[str, Any]]:
        for record in records:
            yield record

    fields = await data_fields(read)
    columns = fields[:MAX_COLUMNS]
    rows = []
    for record in records:
        data = record.get("data", {"sealed": record.get("sealed")})
        rows.append(
            Row(
                key=str(record["key"]),
                giver=names(record["giver_id"]) or record["giver_id"],
                giver_id=record["giver_id"],
                task_id=record["task_id"],
                cells=[shown(data.get(name)) for name in columns],
            )
        )
    return RecordTable(columns, len(fields) - len(columns), rows)


def shown(value: object) -> Cell:
    """A value as its cell shows it: at most MAX_CHARS characters."""
    text = str(cell(value))
    if len(text) <= MAX_CHARS:
        return Cell(text)
    return Cell(text[: MAX_CHARS - 1] + "\u2026", text)
