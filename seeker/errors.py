"""Errors of the seeker package: one root, each carrying what went wrong."""


class SeekerError(Exception):
    """Root of every error raised by the seeker package."""


class InvalidJob(SeekerError):
    """A job submission is malformed; `field` names the offending part."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class UnknownJob(SeekerError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id!r}")
        self.job_id = job_id


class RegistrationError(SeekerError):
    """A Giver's registration or session proof was refused."""

    def __init__(self, message: str, *, giver_id: str = "") -> None:
        super().__init__(message)
        self.giver_id = giver_id


class ApiError(SeekerError):
    """The Seeker's API answered a CLI request with an error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
