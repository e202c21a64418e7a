"""The one error of building a scraper image."""


class BuildError(Exception):
    """Building failed: ``message`` says what to fix, ``details`` are lines of docker's output."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details
