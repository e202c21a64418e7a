"""Errors of the giver package: one root, each carrying what went wrong."""


class GiverError(Exception):
    """Root of every error raised by the giver package."""


class ConfigError(GiverError):
    """A setting has a value the Giver cannot work with."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


class LabelError(ConfigError):
    """A label breaks the rules labels follow on the wire (lowercase name, one short line)."""

    def __init__(self, label: str, message: str) -> None:
        # `message` comes from channel.wire.givers.check_labels and already names the setting.
        GiverError.__init__(self, message)
        self.name = "labels"
        self.label = label


class DockerError(GiverError):
    """The Docker Engine could not be reached or refused a request."""

    def __init__(self, message: str, *, task_id: str = "") -> None:
        super().__init__(message)
        self.task_id = task_id


class DockerUnavailable(DockerError):
    """The Docker Engine does not answer at all; the Giver cannot start."""


class BadImagePattern(ConfigError):
    """An image pattern of the volunteer's policy is malformed."""

    def __init__(self, pattern: str, message: str) -> None:
        GiverError.__init__(self, f"allowed images: {pattern!r}: {message}")
        self.name = "allowed_images"
        self.pattern = pattern


class ImageMissing(GiverError):
    """A task's image is not present locally; the Giver never pulls."""

    def __init__(self, image: str, *, task_id: str = "") -> None:
        super().__init__(f"image {image} is not present on this Giver (it never pulls images)")
        self.image = image
        self.task_id = task_id


class RegistrationRefused(GiverError):
    """The Seeker answered the registration with a client error."""

    def __init__(self, status: int, message: str, *, code: str = "") -> None:
        super().__init__(f"the Seeker refused the registration ({status}): {message}")
        self.status = status
        self.code = code


class SeekerKeyChanged(GiverError):
    """The Seeker names another key than the one this Giver trusts; fatal."""

    def __init__(self, message: str, *, url: str, pinned: str, offered: str) -> None:
        super().__init__(message)
        self.url = url
        self.pinned = pinned
        self.offered = offered


class SeekerProtocolError(GiverError):
    """The Seeker answered with something the protocol does not allow."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class UnknownGiver(GiverError):
    """The Seeker does not know this Giver (it must register again)."""

    def __init__(self, giver_id: str) -> None:
        super().__init__(f"the Seeker does not know giver {giver_id}")
        self.giver_id = giver_id


class OutboxError(GiverError):
    """A result could not be kept in, read from or moved within the outbox."""

    def __init__(self, message: str, *, result_id: str = "") -> None:
        super().__init__(message)
        self.result_id = result_id


class GarbageOutput(GiverError):
    """A scraper's output files break contract v1; none of the output is trusted."""

    def __init__(self, message: str, *, file: str, line: int = 0) -> None:
        super().__init__(f"{file} line {line}: {message}" if line else f"{file}: {message}")
        self.file = file
        self.line = line


class ConfigFileError(ConfigError):
    """The TOML settings file cannot be read, or a key in it is unknown or has a bad value."""

    def __init__(self, path: object, key: str, message: str) -> None:
        # Not ConfigError.__init__: the message names the file, then the key.
        where = f"{path}: {key}" if key else str(path)
        GiverError.__init__(self, f"{where}: {message}")
        self.name = key
        self.path = path
        self.key = key


class ControlError(GiverError):
    """The control socket cannot be served, or the daemon behind it answered amiss."""


class NotRunning(ControlError):
    """No Giver daemon answers on the control socket."""

    def __init__(self, path: object) -> None:
        super().__init__(f"the Giver is not running (nothing answers at {path})")
        self.path = path


class NoGiverHere(GiverError):
    """No Giver ever ran with this data dir (it holds no identity): a command that
    would act for one there refuses, rather than create the data dir."""

    def __init__(self, data_dir: object, identity_file: str) -> None:
        super().__init__(
            f"no Giver has run with the data dir {data_dir} (it holds no {identity_file}); "
            "give the --data-dir or --config that `giver run` uses"
        )
        self.data_dir = data_dir


class BadArchive(GiverError):
    """An image archive does not hold exactly the image it should; `member` is the
    part of it at fault, if one is."""

    def __init__(self, message: str, *, member: str = "") -> None:
        super().__init__(message)
        self.member = member


class DeliveryRefused(GiverError):
    """A task's image cannot come from the Seeker to this Giver (its archive is bad,
    too large, refused by the volunteer's policy...): the Giver refuses the task."""

    def __init__(self, message: str, *, digest: str) -> None:
        super().__init__(message)
        self.digest = digest


class DeliveryFailed(GiverError):
    """A task's image could not be fetched from the Seeker this time (the Seeker or
    the network failed, no room yet): the Giver releases the task."""

    def __init__(self, message: str, *, digest: str) -> None:
        super().__init__(message)
        self.digest = digest
