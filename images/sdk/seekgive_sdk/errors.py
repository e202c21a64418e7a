"""Exceptions of the seekgive SDK."""


class KeyFailed(Exception):
    """Raised by a scraper to fail the current key; ``reason`` goes to status.jsonl."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HTTPStatusError(KeyFailed):
    """A fetch answered with an HTTP error status (4xx or 5xx)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class TaskError(Exception):
    """The task as a whole is invalid (bad task.json, unsupported contract, bad settings)."""
