"""Readers: bearer tokens that let people read chosen jobs and datasets.

A token is shown once, when it is issued; the store keeps only its SHA-256.
Its scope names jobs and datasets (`*` for all) and whether it may upload
datasets; a token that may upload may read what it uploaded.
"""

from dataclasses import dataclass
from typing import Any

from channel.errors import WireError
from channel.wire.tokens import secret

TOKEN_PREFIX = "sgr_"
ALL = "*"
MAX_SCOPE_NAMES = 1000
MAX_NAME_CHARS = 200


def new_reader_token() -> str:
    """A reader token: the prefix and a secret (its id is derived from its digest)."""
    return TOKEN_PREFIX + secret()


def token_id_of(digest: str) -> str:
    """The short public name of a token, from its hash: safe to show and to revoke by."""
    return digest[:12]


@dataclass(frozen=True, slots=True)
class Reader:
    """What one reader token may do, and whether it still may."""

    token_id: str
    label: str
    jobs: tuple[str, ...]
    datasets: tuple[str, ...]
    upload: bool
    created_at: float
    expires_at: float | None = None
    revoked: bool = False

    def valid(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    def may_read_job(self, job_id: str) -> bool:
        return ALL in self.jobs or job_id in self.jobs

    def may_read_dataset(self, name: str, uploaded_by: str = "") -> bool:
        return ALL in self.datasets or name in self.datasets or uploaded_by == self.token_id

    def may_delete_dataset(self, uploaded_by: str) -> bool:
        """Whether this token uploaded the dataset, or may upload and read every dataset."""
        return uploaded_by == self.token_id or (self.upload and ALL in self.datasets)

    def to_wire(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "label": self.label,
            "jobs": list(self.jobs),
            "datasets": list(self.datasets),
            "upload": self.upload,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked": self.revoked,
        }


def scope_names(value: Any, where: str) -> tuple[str, ...]:
    """A list of job ids or dataset names (or `*`), checked."""
    if not isinstance(value, list) or not all(
        isinstance(name, str) and 0 < len(name) <= MAX_NAME_CHARS for name in value
    ):
        raise WireError(f"{where} must be a list of names of 1 to {MAX_NAME_CHARS} characters")
    if len(value) > MAX_SCOPE_NAMES:
        raise WireError(f"{where} names more than {MAX_SCOPE_NAMES} entries")
    return tuple(dict.fromkeys(value))
