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


class ConfigError(SeekerError):
    """A setting has a value the Seeker cannot work with; `name` is the setting."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


class DiscoveryError(SeekerError):
    """mDNS discovery of Givers could not start."""


class ApiError(SeekerError):
    """The Seeker's API answered a CLI request with an error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class StateUnavailable(SeekerError):
    """The Seeker's own state store cannot be reached or failed a write."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class BadStateUrl(SeekerError):
    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"bad state store URL {url!r}: {why}")
        self.url = url


class InvalidState(SeekerError):
    """A state file to load is malformed; `line` is where."""

    def __init__(self, message: str, *, line: int = 0) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


class JobConflict(SeekerError):
    """An operation does not fit the job's state (e.g. resuming a cancelled job)."""

    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class UnknownBlock(SeekerError):
    def __init__(self, block_id: str) -> None:
        super().__init__(f"no block {block_id!r}")
        self.block_id = block_id
