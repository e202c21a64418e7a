"""Exceptions of the seekgive SDK.

Mistakes in a scraper's declaration (a bad settings field, name or resource)
are programming errors and raise the built-in TypeError or ValueError.
"""


class SDKError(Exception):
    """Root of the SDK's errors."""


class KeyFailed(SDKError):
    """Raised by a scraper to fail the current key; ``reason`` goes to status.jsonl."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HTTPStatusError(KeyFailed):
    """A fetch answered with an HTTP error status (4xx or 5xx)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class TaskError(SDKError):
    """The task as a whole is invalid (bad task.json, unsupported contract, bad settings).

    ``setting`` names the setting at fault, if one is.
    """

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class KeyTimeout(BaseException):
    """Raised in the main thread when the current key runs past its timeout.

    A BaseException, like KeyboardInterrupt, so that a scraper's
    ``except Exception`` does not swallow it.
    """

    def __init__(self, timeout_s: float) -> None:
        self.reason = f"timed out after {timeout_s:g} s"
        super().__init__(self.reason)
        self.timeout_s = timeout_s
