"""Errors of the seeker package: one root, each carrying what went wrong.

May import: nothing.
"""


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


class UnknownKey(SeekerError):
    """No block of the job holds the key: it is none of the job's, or a job of
    ranges has not cut it into a block yet."""

    def __init__(self, job_id: str, key: str) -> None:
        super().__init__(
            f"job {job_id} has no key {key!r} in its blocks (give a key as `seeker failures "
            f"{job_id}` lists it)"
        )
        self.job_id = job_id
        self.key = key


class NotReplayable(SeekerError):
    """A key cannot be replayed: it has not failed, or its failure brought back no log."""

    def __init__(self, job_id: str, key: str, why: str) -> None:
        super().__init__(f"key {key!r} of job {job_id} {why}")
        self.job_id = job_id
        self.key = key


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


class RegistrationPending(RegistrationError):
    """A Giver that is neither admitted nor brings a valid token waits for an
    operator's approval; it keeps registering until then."""


class GiverTooOld(RegistrationError):
    """A Giver runs a seekgive release older than the Seeker's min_giver_version."""


class GiverIdTaken(RegistrationError):
    """A Giver id is admitted with another public key: no one takes it over."""


class InvalidTokenRequest(SeekerError):
    """A request to issue an admission token is malformed; `field` names the part."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownToken(SeekerError):
    def __init__(self, token_id: str) -> None:
        super().__init__(f"no admission token {token_id!r}")
        self.token_id = token_id


class UnknownReader(SeekerError):
    def __init__(self, token_id: str) -> None:
        super().__init__(f"no reader token {token_id!r}")
        self.token_id = token_id


class NotPending(SeekerError):
    """An operator approved a Giver that is not waiting for approval."""

    def __init__(self, giver_id: str) -> None:
        super().__init__(
            f"giver {giver_id} is not waiting for approval (see the pending list of "
            "`seeker status`; a Giver appears there once it tries to register)"
        )
        self.giver_id = giver_id


class NotAdmitted(SeekerError):
    """An operator revoked a Giver that is neither admitted nor pending."""

    def __init__(self, giver_id: str) -> None:
        super().__init__(f"giver {giver_id} is neither admitted nor waiting for approval")
        self.giver_id = giver_id


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


class ResultsElsewhere(SeekerError):
    """Results counted for a job are missing from this Seeker's Channel (`here`):
    they were posted to another Channel the job was counted in (`elsewhere`)."""

    def __init__(
        self, job_id: str, missing: int, counted: int, *, here: str, elsewhere: tuple[str, ...]
    ) -> None:
        channels = "Channel" if len(elsewhere) == 1 else "Channels"
        super().__init__(
            f"job {job_id}: {missing} of its {counted} counted results are not in this "
            f"Seeker's Channel ({here}); its results were also counted in the {channels} "
            f"at {', '.join(elsewhere)}: export them from a Seeker that reads that Channel"
        )
        self.job_id = job_id
        self.missing = missing
        self.here = here
        self.elsewhere = elsewhere


class UnknownBlock(SeekerError):
    def __init__(self, block_id: str) -> None:
        super().__init__(f"no block {block_id!r}")
        self.block_id = block_id


class InvalidScraper(SeekerError):
    """An image cannot be added to the scraper catalog; `name` is the image or scraper."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


class UnknownScraper(SeekerError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no scraper {name!r} in the catalog (see `seeker scrapers list`)")
        self.name = name


class ImageUnavailable(SeekerError):
    """The Seeker's Docker Engine cannot be reached or does not have an image."""

    def __init__(self, message: str, *, image: str) -> None:
        super().__init__(message)
        self.image = image


class InvalidSchedule(SeekerError):
    """A schedule is malformed; `field` names the offending part (`job.FIELD` for
    its job)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class UnknownSchedule(SeekerError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no schedule {ref!r}")
        self.ref = ref


class ArchiveError(SeekerError):
    """A scraper image's archive cannot be written to or read from the Seeker's data dir."""

    def __init__(self, message: str, *, image: str) -> None:
        super().__init__(message)
        self.image = image


class InvalidOperatorRequest(SeekerError):
    """An operator token or password request is malformed; `field` names the part."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class UnknownOperatorToken(SeekerError):
    def __init__(self, token_id: str) -> None:
        super().__init__(f"no operator token {token_id!r}")
        self.token_id = token_id


class OwnOperatorToken(SeekerError):
    """An operator asked to revoke the operator token its own request is
    authenticated with, without insisting; `other_ways` are the ways in left."""

    def __init__(self, token_id: str, other_ways: tuple[str, ...]) -> None:
        ways = f"other ways in: {', '.join(other_ways)}" if other_ways else "no other way in"
        super().__init__(
            f"operator token {token_id} is the one this request is authenticated with: "
            f"revoking it locks you out ({ways}); to revoke it anyway, use --force "
            '(in the API, the body {"force": true})'
        )
        self.token_id = token_id
        self.other_ways = other_ways


class LoginRefused(SeekerError):
    """A login was refused; `retry_after_s` is how long the client must wait first
    (0: it may try again at once)."""

    def __init__(self, message: str, *, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InvalidQuery(SeekerError):
    """A request's query parameter is malformed; `parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class BadCursor(InvalidQuery):
    """A paging cursor (`after`) is not one the Seeker hands out."""

    def __init__(self, cursor: str, message: str) -> None:
        super().__init__("after", message)
        self.cursor = cursor


class ServiceUnavailable(SeekerError):
    """A service the Seeker depends on answered a diagnostic check with a failure: a
    Docker Engine (the Seeker's own, or one a Giver reports on) or the Channel
    service; `service` names it."""

    def __init__(self, message: str, *, service: str) -> None:
        super().__init__(message)
        self.service = service


class InvalidForm(SeekerError):
    """A form on the admin pages was filled in wrong; `errors` maps each field to
    what is wrong with it ("" for the form as a whole)."""

    def __init__(self, message: str, *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {"": message}


class BadBackup(SeekerError):
    """A backup file cannot be written or read, or a restore cannot go where asked;
    `path` is the file."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
