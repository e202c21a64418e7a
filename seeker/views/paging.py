"""The query parameters of the API's pages: how many items, and where to go on.

A page of jobs (newest first) goes on after a job: its creation time and id
(`TIME:JOB_ID`). A page of a job's blocks goes on after a block's seq. A page of a job's
records goes on after a result (its number in the Channel, `SEQ`), or inside
one, after its first records (`SEQ:COUNT`), since a result may hold more
records than a page.
"""

import math
import re
from dataclasses import dataclass

from seeker.errors import BadCursor, InvalidQuery

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_NUMBER = re.compile(r"\d{1,18}", re.ASCII)
_RECORD_CURSOR = re.compile(r"(\d{1,18})(?::(\d{1,18}))?", re.ASCII)


def page_limit(text: str | None) -> int:
    """The `limit` parameter: DEFAULT_LIMIT if absent, else 1 to MAX_LIMIT."""
    if text is None:
        return DEFAULT_LIMIT
    if not _NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidQuery("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def job_cursor(text: str | None) -> tuple[float, str] | None:
    """The `after` parameter of a page of jobs: the creation time and id of the job
    the page goes on after, None (from the newest job) if absent."""
    if text is None:
        return None
    created, _, job_id = text.partition(":")
    try:
        created_at = float(created)
    except ValueError:
        created_at = math.nan
    if not math.isfinite(created_at) or not job_id:
        raise BadCursor(text, "after must be the next cursor a page of jobs gave (TIME:JOB_ID)")
    return created_at, job_id


def next_job_cursor(created_at: float, job_id: str) -> str:
    """The cursor of a page of jobs that goes on after this job."""
    return f"{created_at!r}:{job_id}"


def block_cursor(text: str | None) -> int:
    """The `after` parameter of a page of blocks: the seq the page starts after,
    -1 (from the first block) if absent."""
    if text is None:
        return -1
    if not _NUMBER.fullmatch(text):
        raise BadCursor(text, "after must be a block's seq (a whole number)")
    return int(text)


@dataclass(frozen=True, slots=True)
class RecordCursor:
    """Where a page of a job's records goes on: after result `seq`, or, when `skip`
    is above 0, at record `skip` of result `seq`."""

    seq: int = 0
    skip: int = 0

    @classmethod
    def parse(cls, text: str | None) -> "RecordCursor":
        if text is None:
            return cls()
        match = _RECORD_CURSOR.fullmatch(text)
        if match is None or (match[2] is not None and (int(match[2]) == 0 or int(match[1]) == 0)):
            raise BadCursor(
                text,
                "after must be the next cursor a page of records gave (SEQ or SEQ:COUNT)",
            )
        return cls(int(match[1]), int(match[2] or 0))

    def __str__(self) -> str:
        return f"{self.seq}:{self.skip}" if self.skip else str(self.seq)
