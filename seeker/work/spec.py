"""Job submissions: parsing and validating what an operator asks for.

A submission that fails here creates nothing; the error names the field.
"""

from dataclasses import dataclass, field
from typing import Any

from channel.errors import SealingError, WireError
from channel.store.datasets import check_name
from channel.wire import canonical, sealing
from channel.wire.models import LABEL_NAME, NETWORK_MODES, Limits
from channel.wire.platforms import known_arches, platform_arch
from seeker.errors import InvalidJob
from seeker.grid.placement import Requirements, image_for
from seeker.work.choice import Choice, Redundancy
from seeker.work.sources import Ranges, check_key

DEFAULT_BLOCK_SIZE = 100
# A block's keys are checked one by one on the Seeker's event loop per result.
MAX_BLOCK_SIZE = 10_000
# Keys of a range are stored as 64-bit integers.
MIN_KEY, MAX_KEY = -(2**63), 2**63 - 1
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
_KEY_SOURCES = ("keys", "range", "ranges", "from_job", "from_dataset")
_LIMIT_FIELDS = {"memory_bytes", "cpus", "pids", "timeout_s", "output_bytes"}
_REQUIREMENT_FIELDS = {"min_cpus", "min_memory_bytes", "arch", "labels", "exclude_labels"}
_ADAPTIVE_FIELDS = {"trust_after", "spot_check"}


@dataclass(frozen=True, slots=True)
class KeyList:
    """Keys given inline, checked but not yet de-duplicated."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeyFile:
    """Keys uploaded beside the submission, one per line."""


@dataclass(frozen=True, slots=True)
class FromJob:
    """Keys taken from the `field` of an earlier job's records."""

    job_id: str
    field: str


@dataclass(frozen=True, slots=True)
class FromDataset:
    """Keys taken from the `field` of a Channel dataset's objects (a dotted path
    reaches into nested objects)."""

    dataset: str
    field: str


Source = Ranges | KeyList | KeyFile | FromJob | FromDataset


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
            source=_described(source),
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


def describe(source: Source) -> dict[str, Any]:
    match source:
        case Ranges():
            return {"ranges": source.to_wire()}
        case KeyList():
            return {"keys": "inline"}
        case KeyFile():
            return {"keys": "file"}
        case FromJob():
            return {"from_job": {"job_id": source.job_id, "field": source.field}}
        case FromDataset():
            return {"from_dataset": {"dataset": source.dataset, "field": source.field}}


def _described(source: dict[str, Any]) -> Source:
    """The source `describe` gave; a list's keys are in the job's blocks, not here."""
    if "ranges" in source:
        return Ranges.merged((start, stop) for start, stop in source["ranges"])
    if "from_job" in source:
        return FromJob(source["from_job"]["job_id"], source["from_job"]["field"])
    if "from_dataset" in source:
        return FromDataset(source["from_dataset"]["dataset"], source["from_dataset"]["field"])
    return KeyFile() if source["keys"] == "file" else KeyList(())


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
    image, images = _parse_images(body)
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
    source = _parse_source(body, keys_file)
    if discover and isinstance(source, Ranges):
        raise InvalidJob(
            "discover needs a job of listed keys (keys, a keys file, from_job or from_dataset), "
            "not a range",
            field="discover",
        )
    requirements = _parse_requirements(body.get("requires", {}))
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
        block_size=_whole(body, "block_size", DEFAULT_BLOCK_SIZE, 1, MAX_BLOCK_SIZE),
        settings=settings,
        network=network,
        limits=_parse_limits(body),
        name=name,
        priority=_whole(body, "priority", DEFAULT_PRIORITY, 1, MAX_PRIORITY),
        max_attempts=_whole(body, "max_attempts", DEFAULT_MAX_ATTEMPTS, 1, MAX_ATTEMPTS),
        retry_backoff_s=_seconds(body, "retry_backoff_s", DEFAULT_RETRY_BACKOFF_S),
        requirements=requirements,
        redundancy=_parse_redundancy(body),
        retention_days=_retention_days(body),
        recipient=recipient,
        scraper=scraper,
        captures=captures,
        discover=discover,
        max_discovered=_whole(body, "max_discovered", DEFAULT_MAX_DISCOVERED, 1, MAX_DISCOVERED),
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


def _parse_images(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """`image` (one for every Giver) or `images` (one per architecture), exactly one."""
    if "image" in body and "images" in body:
        raise InvalidJob(
            "give image (one for every Giver) or images (one per architecture), not both",
            field="images",
        )
    if "images" not in body:
        image = body.get("image")
        if not isinstance(image, str) or not image.strip():
            raise InvalidJob(
                "image is required: the scraper image to run "
                '(or images: {"amd64": IMAGE, "arm64": IMAGE, ...})',
                field="image",
            )
        return image.strip(), {}
    given = body["images"]
    if not isinstance(given, dict) or not given:
        raise InvalidJob(
            'images must be an object of architectures to images, e.g. {"amd64": IMAGE}',
            field="images",
        )
    images: dict[str, str] = {}
    named: dict[str, str] = {}
    for name, ref in given.items():
        arch = _arch(name, "images")
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidJob(f"images.{name} must be an image name", field="images")
        if arch in images:
            raise InvalidJob(
                f"images names {arch} twice ({named[arch]!r} and {name!r})", field="images"
            )
        images[arch], named[arch] = ref.strip(), name
    return "", images


def _arch(name: Any, where: str) -> str:
    """An architecture as its platform name (x86_64 -> amd64), or InvalidJob."""
    arch = platform_arch(name) if isinstance(name, str) else None
    if arch is None:
        raise InvalidJob(
            f"{where}: {name!r} is not an architecture (known: {known_arches()})",
            field=where.split(".")[0],
        )
    return arch


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(
    body: dict[str, Any], name: str, default: int, low: int, high: int | None, where: str = ""
) -> int:
    value = body.get(name, default)
    if not _is_int(value) or value < low or (high is not None and value > high):
        limit = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InvalidJob(
            f"{where}{name} must be a whole number {limit}", field=where.split(".")[0] or name
        )
    return value


def _seconds(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise InvalidJob(f"{name} must be a number of seconds, 0 or more", field=name)
    return float(value)


def _parse_source(body: dict[str, Any], keys_file: bool) -> Source:
    given = [name for name in _KEY_SOURCES if name in body]
    if keys_file:
        given.append("a keys file")
    if len(given) > 1:
        raise InvalidJob(f"give one key source, not {' and '.join(given)}", field=given[0])
    if not given:
        raise InvalidJob(
            "no keys: give keys (a list of strings), range [start, stop), ranges, "
            "from_job, from_dataset, or a keys file",
            field="keys",
        )
    if keys_file:
        return KeyFile()
    if "range" in body:
        return Ranges.merged([_parse_range(body["range"], "range")])
    if "ranges" in body:
        ranges = body["ranges"]
        if not isinstance(ranges, list) or not ranges:
            raise InvalidJob("ranges must be a non-empty list of [start, stop)", field="ranges")
        return Ranges.merged(_parse_range(r, f"ranges[{i}]") for i, r in enumerate(ranges))
    if "from_job" in body:
        return _parse_from_job(body["from_job"])
    if "from_dataset" in body:
        return _parse_from_dataset(body["from_dataset"])
    keys = body["keys"]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InvalidJob("keys must be a list of strings", field="keys")
    if not keys:
        raise InvalidJob("keys is empty: a job needs at least one key", field="keys")
    return KeyList(tuple(check_key(key, f"keys[{i}]") for i, key in enumerate(keys)))


def _parse_range(bounds: Any, where: str) -> tuple[int, int]:
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(map(_is_int, bounds))):
        raise InvalidJob(f"{where} must be two integers [start, stop)", field="range")
    start, stop = bounds
    if start < MIN_KEY or stop > MAX_KEY:
        raise InvalidJob(f"{where} must lie within 64-bit integers", field="range")
    if start >= stop:
        raise InvalidJob(
            f"{where} [{start}, {stop}) is empty or reversed: start must be below stop",
            field="range",
        )
    return start, stop


def _parse_from_job(value: Any) -> FromJob:
    if not isinstance(value, dict) or set(value) != {"job_id", "field"}:
        raise InvalidJob(
            'from_job must be {"job_id": ..., "field": ...}: the earlier job, and the '
            "field of its records' data that holds the keys",
            field="from_job",
        )
    job_id, name = value["job_id"], value["field"]
    if not isinstance(job_id, str) or not job_id or not isinstance(name, str) or not name:
        raise InvalidJob("from_job.job_id and from_job.field must be strings", field="from_job")
    return FromJob(job_id, name)


def _parse_from_dataset(value: Any) -> FromDataset:
    if not isinstance(value, dict) or set(value) != {"dataset", "field"}:
        raise InvalidJob(
            'from_dataset must be {"dataset": ..., "field": ...}: the Channel dataset, and '
            "the field of its objects that holds the keys (a.b for a field inside a)",
            field="from_dataset",
        )
    name, path = value["dataset"], value["field"]
    if not isinstance(path, str) or not path:
        raise InvalidJob("from_dataset.field must be a field name", field="from_dataset")
    try:
        return FromDataset(check_name(name), path)
    except WireError as e:
        raise InvalidJob(f"from_dataset.dataset: {e}", field="from_dataset") from e


def _parse_limits(body: dict[str, Any]) -> Limits:
    given = body.get("limits", {})
    if not isinstance(given, dict):
        raise InvalidJob("limits must be an object", field="limits")
    unknown = sorted(set(given) - _LIMIT_FIELDS)
    if unknown:
        raise InvalidJob(f"unknown limit(s): {', '.join(unknown)}", field="limits")
    try:
        return Limits.from_wire({**Limits().to_wire(), **given})
    except WireError as e:
        raise InvalidJob(str(e), field="limits") from e


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


def _parse_requirements(given: Any) -> Requirements:
    """`requires`: what a Giver must offer to run the job's blocks."""
    if not isinstance(given, dict):
        raise InvalidJob("requires must be an object", field="requires")
    unknown = sorted(set(given) - _REQUIREMENT_FIELDS)
    if unknown:
        raise InvalidJob(
            f"unknown requirement(s): {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_REQUIREMENT_FIELDS))})",
            field="requires",
        )
    arch = given.get("arch", [])
    if isinstance(arch, str):
        arch = [arch]
    if not isinstance(arch, list) or not all(isinstance(a, str) and a for a in arch):
        raise InvalidJob(
            "requires.arch must be an architecture (amd64, arm64, ...) or a list of them",
            field="requires",
        )
    return Requirements(
        min_cpus=_whole(given, "min_cpus", 0, 0, None, where="requires."),
        min_memory_bytes=_whole(given, "min_memory_bytes", 0, 0, None, where="requires."),
        arch=tuple(dict.fromkeys(_arch(a, "requires.arch") for a in arch)),
        labels=_labels(given, "labels"),
        exclude_labels=_labels(given, "exclude_labels"),
    )


def _labels(given: dict[str, Any], name: str) -> tuple[str, ...]:
    labels = given.get(name, [])
    if not isinstance(labels, list) or not all(
        isinstance(label, str) and LABEL_NAME.fullmatch(label.partition("=")[0]) for label in labels
    ):
        raise InvalidJob(
            f"requires.{name} must be a list of labels, each NAME or NAME=VALUE "
            "(names are lowercase letters, digits, '.', '_' or '-')",
            field="requires",
        )
    return tuple(labels)


def _parse_redundancy(body: dict[str, Any]) -> Redundancy:
    """`replicas`, `quorum`, `choice`, `ignore_fields`, `max_extra_copies`, `adaptive`."""
    adaptive, trust_after, spot_check = _parse_adaptive(body.get("adaptive", False))
    replicas = _whole(body, "replicas", 2 if adaptive else 1, 1, MAX_REPLICAS)
    if adaptive and replicas < 2:
        raise InvalidJob(
            "adaptive replication checks untrusted Givers with a second copy: "
            "replicas must be at least 2",
            field="replicas",
        )
    quorum = _whole(body, "quorum", replicas // 2 + 1, 1, replicas)
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
        max_extra_copies=_whole(
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
    trust_after = _whole(given, "trust_after", default.trust_after, 1, None, where="adaptive.")
    return True, trust_after, float(spot_check)
