"""Job submissions: parsing and validating what an operator asks for.

A submission that fails here creates nothing; the error names the field.
"""

from dataclasses import dataclass, field
from typing import Any

from channel import canonical
from channel.errors import WireError
from channel.models import NETWORK_MODES, KeyBlock, Limits
from seeker.errors import InvalidJob

MAX_KEY_BYTES = 2048
MAX_TASKS_PER_JOB = 100_000
DEFAULT_BLOCK_SIZE = 100
_FIELDS = {"image", "settings", "keys", "range", "block_size", "network", "limits", "name"}
_LIMIT_FIELDS = {"memory_bytes", "cpus", "pids", "timeout_s"}


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A validated job: which image runs over which keys, in blocks of what size."""

    image: str
    keys: KeyBlock
    block_size: int = DEFAULT_BLOCK_SIZE
    settings: dict[str, Any] = field(default_factory=dict)
    network: str = "none"
    limits: Limits = field(default_factory=Limits)
    name: str = ""

    def blocks(self) -> list[KeyBlock]:
        """The job's keys cut into blocks of at most `block_size` keys."""
        size = self.block_size
        if self.keys.start is not None and self.keys.stop is not None:
            return [
                KeyBlock(start=lo, stop=min(lo + size, self.keys.stop))
                for lo in range(self.keys.start, self.keys.stop, size)
            ]
        keys = self.keys.keys
        return [KeyBlock(keys=keys[i : i + size]) for i in range(0, len(keys), size)]

    def to_wire(self) -> dict[str, Any]:
        return {
            "image": self.image,
            **self.keys.to_wire(),
            "block_size": self.block_size,
            "settings": self.settings,
            "network": self.network,
            "limits": self.limits.to_wire(),
            "name": self.name,
        }


def parse_job(body: Any) -> JobSpec:
    """Validate a submission body into a JobSpec, or raise InvalidJob."""
    if not isinstance(body, dict):
        raise InvalidJob("a job must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidJob(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    image = body.get("image")
    if not isinstance(image, str) or not image.strip():
        raise InvalidJob("image is required: the scraper image to run", field="image")
    settings = body.get("settings", {})
    if not isinstance(settings, dict):
        raise InvalidJob("settings must be an object", field="settings")
    network = body.get("network", "none")
    if network not in NETWORK_MODES:
        raise InvalidJob(f"network must be one of {', '.join(NETWORK_MODES)}", field="network")
    block_size = body.get("block_size", DEFAULT_BLOCK_SIZE)
    if not _is_int(block_size) or block_size < 1:
        raise InvalidJob("block_size must be a whole number of at least 1", field="block_size")
    try:
        canonical.dumps(settings)
    except WireError as e:
        raise InvalidJob(f"settings cannot be passed on: {e}", field="settings") from e
    name = body.get("name", "")
    if not isinstance(name, str):
        raise InvalidJob("name must be a string", field="name")
    keys = _parse_keys(body)
    tasks = -(-len(keys) // block_size)
    if tasks > MAX_TASKS_PER_JOB:
        raise InvalidJob(
            f"{len(keys)} keys in blocks of {block_size} make {tasks} tasks, over "
            f"the {MAX_TASKS_PER_JOB} a job may have; use a larger block_size",
            field="block_size",
        )
    return JobSpec(
        image=image.strip(),
        keys=keys,
        block_size=block_size,
        settings=settings,
        network=network,
        limits=_parse_limits(body),
        name=name,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_keys(body: dict[str, Any]) -> KeyBlock:
    if "keys" in body and "range" in body:
        raise InvalidJob("give either keys or range, not both", field="keys")
    if "range" in body:
        bounds = body["range"]
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(map(_is_int, bounds))):
            raise InvalidJob("range must be two integers [start, stop)", field="range")
        start, stop = bounds
        if start >= stop:
            raise InvalidJob(
                f"range [{start}, {stop}) is empty or reversed: start must be below stop",
                field="range",
            )
        return KeyBlock(start=start, stop=stop)
    keys = body.get("keys")
    if keys is None:
        raise InvalidJob(
            "no keys: give keys (a list of strings) or range [start, stop)", field="keys"
        )
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InvalidJob("keys must be a list of strings", field="keys")
    for key in keys:
        if not key:
            raise InvalidJob("keys must not be empty strings", field="keys")
        if len(key.encode()) > MAX_KEY_BYTES:
            raise InvalidJob(f"key {key[:40]!r}… is over {MAX_KEY_BYTES} bytes", field="keys")
    unique = tuple(dict.fromkeys(keys))
    if not unique:
        raise InvalidJob("keys is empty: a job needs at least one key", field="keys")
    return KeyBlock(keys=unique)


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
