"""Errors of the channel package: one root, each carrying what went wrong.

May import: nothing.
"""

from pathlib import Path


class ChannelError(Exception):
    """Root of every error raised by the channel package."""


class WireError(ChannelError):
    """A message or document does not have the shape the contract requires."""


class InvalidResult(ChannelError):
    """A result failed verification: unknown Giver, bad digest or bad signature."""

    def __init__(self, message: str, *, result_id: str = "", giver_id: str = "") -> None:
        super().__init__(message)
        self.result_id = result_id
        self.giver_id = giver_id


class UnknownJob(ChannelError):
    """A result names a job the Channel was never told of."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} is not known to this Channel")
        self.job_id = job_id


class ResultConflict(ChannelError):
    """A result id was posted again with different content."""

    def __init__(self, result_id: str) -> None:
        super().__init__(f"result {result_id} was already stored with different content")
        self.result_id = result_id


class StoreUnavailable(ChannelError):
    """The backing store could not be reached or refused the operation."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class BadStoreUrl(ChannelError):
    """A store URL names a scheme no backend serves, or is malformed."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"bad store URL {url!r}: {reason}")
        self.url = url


class ResultTooLarge(ChannelError):
    """A result's records are larger than the Channel accepts."""

    def __init__(self, result_id: str, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(
            f"result {result_id}: records exceed the limit of {limit_bytes} bytes"
            f" (at least {size_bytes} bytes)"
        )
        self.result_id = result_id
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes


class RecordTooLarge(ChannelError):
    """One record of a result is larger than the Channel accepts."""

    def __init__(self, result_id: str, index: int, limit_bytes: int) -> None:
        super().__init__(f"result {result_id}: record {index} exceeds {limit_bytes} bytes")
        self.result_id = result_id
        self.index = index
        self.limit_bytes = limit_bytes


class LineTooLong(ChannelError):
    """A line of a JSON-lines body grew past its limit before its newline arrived."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"a line exceeds {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


class ResultRejected(ChannelError):
    """The Channel refused a result for good; posting it again will not help."""

    def __init__(self, result_id: str, status: int, message: str) -> None:
        super().__init__(f"result {result_id} rejected ({status}): {message}")
        self.result_id = result_id
        self.status = status


class IdentityError(ChannelError):
    """A key (file) is missing, unreadable, too open or not an Ed25519 key; `path`
    is None for a key that is not in a file (the Seeker's, in its state store)."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class SealingError(ChannelError):
    """A record cannot be sealed to a recipient or opened by one."""


class RecipientKeyError(SealingError):
    """A recipient key (file) is malformed, missing, unreadable, too open or not an
    X25519 key; `path` is None for a key given as text (a job's `recipient`)."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class SealedRecordError(SealingError):
    """A sealed record of job `job_id` does not open: another recipient's, altered,
    or moved from another key or job."""

    def __init__(self, message: str, *, job_id: str, key: str) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.key = key


class BadDatasetName(WireError):
    """A dataset name breaks the naming rule."""

    def __init__(self, name: str, rule: str) -> None:
        super().__init__(f"dataset name {name[:120]!r} is not allowed: {rule}")
        self.name = name


class BadDatasetLine(WireError):
    """A line of a dataset upload is not a JSON object; `line` counts from 1."""

    def __init__(self, name: str, line: int, reason: str) -> None:
        super().__init__(f"dataset {name}: line {line} {reason}")
        self.name = name
        self.line = line


class DatasetLineTooLarge(ChannelError):
    """One line of a dataset upload is larger than the Channel accepts."""

    def __init__(self, name: str, line: int, limit_bytes: int) -> None:
        super().__init__(f"dataset {name}: line {line} exceeds {limit_bytes} bytes")
        self.name = name
        self.line = line
        self.limit_bytes = limit_bytes


class DatasetTooLarge(ChannelError):
    """A dataset upload grew past the Channel's limit."""

    def __init__(self, name: str, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(
            f"dataset {name} exceeds the limit of {limit_bytes} bytes (at least {size_bytes} bytes)"
        )
        self.name = name
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes


class DatasetExists(ChannelError):
    """A dataset of that name was uploaded before; datasets never change."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"dataset {name} already exists; datasets are immutable: delete it to upload anew"
        )
        self.name = name


class UnknownDataset(ChannelError):
    """No dataset of that name is stored."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no dataset {name!r}")
        self.name = name


class DatasetRefused(ChannelError):
    """The Channel answered a dataset request with an error; `code` names it."""

    def __init__(self, name: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.name = name
        self.status = status
        self.code = code


class NewerSchema(ChannelError):
    """A store (or a backup of one) was written by a newer seekgive than this one:
    its schema `found` is above `known`, the latest this code can read."""

    def __init__(self, store: str, *, found: int, known: int, written_by: str, reader: str) -> None:
        release = f"seekgive {written_by}" if written_by else "a newer seekgive"
        upgrade = written_by or "the release that wrote it"
        super().__init__(
            f"{store} was written by schema {found} ({release}); this {reader} knows up to "
            f"schema {known}: upgrade seekgive to {upgrade} or newer"
        )
        self.store = store
        self.found = found
        self.known = known
        self.written_by = written_by
