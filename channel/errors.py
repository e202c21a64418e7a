"""Errors of the channel package: one root, each carrying what went wrong."""


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
