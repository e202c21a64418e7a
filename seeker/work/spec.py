"""Job submissions: parsing and validating what an operator asks for.

A submission that fails here creates nothing; the error names the field.
"""

from dataclasses import dataclass, field
from typing import Any

from channel.errors import SealingError, WireError
from channel.wire import canonical, sealing
from channel.wire.models import NETWORK_MODES, Limits
from seeker.errors import InvalidJob
from seeker.work.choice import Choice, Redundancy
from seeker.work.fields import whole
from seeker.work.needs import (
    Requirements,
    image_for,
    parse_images,
    parse_limits,
    parse_requirements,
)
from seeker.work.sources import Ranges, Source, describe, described, parse_source

DEFAULT_BLOCK_SIZE = 100
# A block's keys are checked one by one on the Seeker's event loop per result.
MAX_BLOCK_SIZE = 10_000
DEFAULT_PRIORITY = 10
MAX_PRIORITY = 1000
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS = 100
DEFAULT_RETRY_BACKOFF_S = 30.0
MAX_REPLICAS = 10
DEFAULT_MAX_EXTRA_COPIES = 2
MAX_EXTRA_COPIES = 10
MAX_RETENTION_DAYS = 36_500
DEFAULT_MAX_DISCOVERED = 10_000
MAX_DISCOVERED = 10_000_000
_FIELDS = {
    "image",
    "images",
    "settings",
    "keys",
    "range",
    "ranges",
    "from_job",
    "from_dataset",
    "block_size",
    "network",
    "limits",
    "name",
    "priority",
    "max_attempts",
    "retry_backoff_s",
    "requires",
    "replicas",
    "quorum",
    "choice",
    "ignore_fields",
    "max_extra_copies",
    "adaptive",
    "retention_days",
    "recipient",
    "scraper",
    "captures",
    "discover",
    "max_discovered",
}
_ADAPTIVE_FIELDS = {"trust_after", "spot_check"}


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A validated job: which image runs over which keys, in blocks of what size.

    The job runs one `image` on every Giver, or (with `image` empty) the one of
    `images` for the Giver's architecture. With a `recipient` (an X25519 public
    key in base64) its records are sealed to it.
    """

    image: str
    source: Source
    block_size: int = DEFAULT_BLOCK_SIZE
    settings: dict[str, Any] = field(default_factory=dict)
    network: str = "none"
    limits: Limits = field(default_factory=Limits)
    name: str = ""
    priority: int = DEFAULT_PRIORITY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S
    requirements: Requirements = field(default_factory=Requirements)
    redundancy: Redundancy = field(default_factory=Redundancy)
    images: dict[str, str] = field(default_factory=dict)
    recipient: str = ""
    # How long the Channel keeps the job's results after each arrives; None: for good.
    retention_days: float | None = None
    # The catalog scraper the job was submitted for ("" when it named its images).
    scraper: str = ""
    # Keep the raw pages scrapers attach to records (returned only on `full` reads).
    captures: bool = False
    # Add the keys scrapers discover to the job, each once, at most `max_discovered`.
    discover: bool = False
    max_discovered: int = DEFAULT_MAX_DISCOVERED

    @property
    def retention_s(self) -> float | None:
        return None if self.retention_days is None else self.retention_days * 86_400

    def image_for(self, arch: str) -> str | None:
        """The image a Giver of architecture `arch` runs, or None if the job has none."""
        return image_for(self.image, self.images, arch)

    @property
    def image_names(self) -> str:
        """The image, or the images by architecture, in a few words for logs and views."""
        return self.image or ", ".join(f"{a}={ref}" for a, ref in sorted(self.images.items()))

    def to_wire(self) -> dict[str, Any]:
        """The spec as stored and shown, with the key source described, not listed."""
        return {
            "image": self.image,
            "images": self.images,
            "source": describe(self.source),
            "block_size": self.block_size,
            "settings": self.settings,
            "network": self.network,
            "limits": self.limits.to_wire(),
            "name": self.name,
            "max_attempts": self.max_attempts,
            "retry_backoff_s": self.retry_backoff_s,
            "requires": self.requirements.to_wire(),
            "redundancy": self.redundancy.to_wire(),
            "retention_days": self.retention_days,
            **({"recipient": self.recipient} if self.recipient else {}),
            **({"scraper": self.scraper} if self.scraper else {}),
            **({"captures": True} if self.captures else {}),
            **({"discover": True, "max_discovered": self.max_discovered} if self.discover else {}),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "JobSpec":
        """A stored spec (from `to_wire`); its key source is already expanded."""
        source = data["source"]
        return cls(
            image=data["image"],
            # Specs stored before jobs could offer an image per architecture have none.
            images=data.get("images", {}),
            source=described(source),
            block_size=data["block_size"],
            settings=data["settings"],
            network=data["network"],
            limits=Limits.from_wire(data["limits"]),
            name=data["name"],
            max_attempts=data["max_attempts"],
            retry_backoff_s=data["retry_backoff_s"],
            requirements=Requirements.from_wire(data["requires"]),
            redundancy=Redundancy.from_wire(data["redundancy"]),
            retention_days=data.get("retention_days"),
            recipient=data.get("recipient", ""),
            scraper=data.get("scraper", ""),
            captures=data.get("captures", False),
            discover=data.get("discover", False),
            max_discovered=data.get("max_discovered", DEFAULT_MAX_DISCOVERED),
        )


def parse_job(body: Any, *, keys_file: bool = False) -> JobSpec:
    """Validate a submission into a JobSpec, or raise InvalidJob.

    With `keys_file` the keys come as an upload beside the body, which must
    then name no other key source.
    """
    if not isinstance(body, dict):
        raise InvalidJob("a job must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidJob(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    image, images = parse_images(body)
    settings = body.get("settings", {})
    if not isinstance(settings, dict):
        raise InvalidJob("settings must be an object", field="settings")
    try:
        canonical.dumps(settings)
    except WireError as e:
        raise InvalidJob(f"settings cannot be passed on: {e}", field="settings") from e
    network = body.get("network", "none")
    if network not in NETWORK_MODES:
        raise InvalidJob(f"network must be one of {', '.join(NETWORK_MODES)}", field="network")
    name = body.get("name", "")
    if not isinstance(name, str):
        raise InvalidJob("name must be a string", field="name")
    scraper = body.get("scraper", "")
    if not isinstance(scraper, str):
        raise InvalidJob("scraper must be the name of a catalog scraper", field="scraper")
    recipient = _parse_recipient(body.get("recipient", ""))
    captures, discover = _flag(body, "captures"), _flag(body, "discover")
    for flag, wanted in (("captures", captures), ("discover", discover)):
        if wanted and recipient:
            raise InvalidJob(
                f"{flag} cannot go with a recipient: what they keep would not be sealed",
                field=flag,
            )
    if "max_discovered" in body and not discover:
        raise InvalidJob(
            "max_discovered goes with discover: a job that does not discover keys adds none",
            field="max_discovered",
        )
    source = parse_source(body, keys_file)
    if discover and isinstance(source, Ranges):
        raise InvalidJob(
            "discover needs a job of listed keys (keys, a keys file, from_job or from_dataset), "
            "not a range",
            field="discover",
        )
    requirements = parse_requirements(body.get("requires", {}))
    without_image = sorted(set(requirements.arch) - set(images)) if images else []
    if without_image:
        raise InvalidJob(
            f"requires.arch names {', '.join(without_image)}, for which images has no image",
            field="images",
        )
    return JobSpec(
        image=image,
        images=images,
        source=source,
        block_size=whole(body, "block_size", DEFAULT_BLOCK_SIZE, 1, MAX_BLOCK_SIZE),
        settings=settings,
        network=network,
        limits=parse_limits(body),
        name=name,
        priority=whole(body, "priority", DEFAULT_PRIORITY, 1, MAX_PRIORITY),
        max_attempts=whole(body, "max_attempts", DEFAULT_MAX_ATTEMPTS, 1, MAX_ATTEMPTS),
        retry_backoff_s=_seconds(body, "retry_backoff_s", DEFAULT_RETRY_BACKOFF_S),
        requirements=requirements,
        redundancy=_parse_redundancy(body),
        retention_days=_retention_days(body),
        recipient=recipient,
        scraper=scraper,
        captures=captures,
        discover=discover,
        max_discovered=whole(body, "max_discovered", DEFAULT_MAX_DISCOVERED, 1, MAX_DISCOVERED),
    )


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidJob(f"{name} must be true or false", field=name)
    return value


def _retention_days(body: dict[str, Any]) -> float | None:
    value = body.get("retention_days")
    if value is None:
        return None
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not 0 < value <= MAX_RETENTION_DAYS
    ):
        raise InvalidJob(
            f"retention_days must be a number of days above 0 and at most {MAX_RETENTION_DAYS}",
            field="retention_days",
        )
    return float(value)


def _seconds(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise InvalidJob(f"{name} must be a number of seconds, 0 or more", field=name)
    return float(value)


def _parse_recipient(given: Any) -> str:
    """`recipient`: the X25519 public key records are sealed to, or "" for none."""
    if given == "":
        return ""
    try:
        sealing.check_recipient(given)
    except SealingError as e:
        raise InvalidJob(
            f"recipient: {e} (`seeker recipient new` makes one)", field="recipient"
        ) from e
    return given


def _parse_redundancy(body: dict[str, Any]) -> Redundancy:
    """`replicas`, `quorum`, `choice`, `ignore_fields`, `max_extra_copies`, `adaptive`."""
    adaptive, trust_after, spot_check = _parse_adaptive(body.get("adaptive", False))
    replicas = whole(body, "replicas", 2 if adaptive else 1, 1, MAX_REPLICAS)
    if adaptive and replicas < 2:
        raise InvalidJob(
            "adaptive replication checks untrusted Givers with a second copy: "
            "replicas must be at least 2",
            field="replicas",
        )
    quorum = whole(body, "quorum", replicas // 2 + 1, 1, replicas)
    try:
        choice = Choice(body.get("choice", Choice.MAJORITY))
    except ValueError:
        raise InvalidJob(
            f"choice must be one of {', '.join(c.value for c in Choice)}", field="choice"
        ) from None
    ignore = body.get("ignore_fields", [])
    if not isinstance(ignore, list) or not all(isinstance(f, str) and f for f in ignore):
        raise InvalidJob("ignore_fields must be a list of field names", field="ignore_fields")
    if (choice is Choice.MAJORITY_IGNORING) != bool(ignore):
        raise InvalidJob(
            "ignore_fields goes with choice majority_ignoring, and that choice needs them",
            field="ignore_fields",
        )
    return Redundancy(
        replicas=replicas,
        quorum=quorum,
        choice=choice,
        ignore_fields=tuple(ignore),
        max_extra_copies=whole(
            body, "max_extra_copies", DEFAULT_MAX_EXTRA_COPIES, 0, MAX_EXTRA_COPIES
        ),
        adaptive=adaptive,
        trust_after=trust_after,
        spot_check=spot_check,
    )


def _parse_adaptive(given: Any) -> tuple[bool, int, float]:
    """`adaptive`: true, false, or {"trust_after": N, "spot_check": fraction}."""
    default = Redundancy()
    if isinstance(given, bool):
        return given, default.trust_after, default.spot_check
    if not isinstance(given, dict) or set(given) - _ADAPTIVE_FIELDS:
        raise InvalidJob(
            'adaptive must be true, false or {"trust_after": N, "spot_check": 0.1}',
            field="adaptive",
        )
    spot_check = given.get("spot_check", default.spot_check)
    if not isinstance(spot_check, int | float) or isinstance(spot_check, bool):
        spot_check = -1
    if not 0 <= spot_check <= 1:
        raise InvalidJob("adaptive.spot_check must be a fraction from 0 to 1", field="adaptive")
    trust_after = whole(given, "trust_after", default.trust_after, 1, None, where="adaptive.")
    return True, trust_after, float(spot_check)
