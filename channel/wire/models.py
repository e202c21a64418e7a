"""Wire models shared by Seeker, Giver and Channel.

Each model converts to a plain dict (`to_wire`) for canonical JSON and back
(`from_wire`), checking shapes so that bad input fails with a message naming
the field instead of surfacing later as a KeyError.
"""

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from channel.errors import WireError
from channel.wire.platforms import platform_arch

CONTRACT_VERSION = 1
NETWORK_MODES = ("none", "host", "bridge")
MAX_IMAGES = 1000
MAX_LABELS = 64
MAX_LABEL_VALUE_CHARS = 200
LABEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
DEFAULT_OUTPUT_BYTES = 32 * 1024 * 1024
# A recipient's X25519 public key and a job's agreement key are both this long.
KEY_BYTES = 32


def field_of(data: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Return `data[name]` after checking it is present and of `kind`."""
    if not isinstance(data, Mapping):
        raise WireError(f"{where} must be an object")
    if name not in data:
        raise WireError(f"{where}.{name} is missing")
    value = data[name]
    # bool is an int in Python; a field that wants a number never takes true/false.
    if isinstance(value, bool) and bool not in _as_tuple(kind):
        raise WireError(f"{where}.{name} must be {_kind_name(kind)}, not a boolean")
    if not isinstance(value, kind):
        raise WireError(f"{where}.{name} must be {_kind_name(kind)}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        dict: "an object",
        list: "a list",
        type(None): "null",
    }
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a Giver's machine offers: its hardware, the images it has cached (tags,
    digests and ids, as Docker names them) and its volunteer's free-form labels
    (`region=eu`, `residential=true`)."""

    cpus: int
    memory_bytes: int
    arch: str
    os: str
    docker_version: str
    slots: int
    images: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    # Why the Giver takes no tasks now, as a clause that follows its name ("is
    # paused by its volunteer"); empty while it takes tasks. On the wire only when
    # set, so a Giver that takes tasks looks the same to peers that predate it.
    paused: str = ""

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "cpus": self.cpus,
            "memory_bytes": self.memory_bytes,
            "arch": self.arch,
            "os": self.os,
            "docker_version": self.docker_version,
            "slots": self.slots,
            "images": list(self.images),
            "labels": dict(self.labels),
        }
        if self.paused:
            wire["paused"] = self.paused
        return wire

    @classmethod
    def from_wire(cls, data: Any, where: str = "capabilities") -> "Capabilities":
        images = data.get("images", []) if isinstance(data, Mapping) else []
        labels = data.get("labels", {}) if isinstance(data, Mapping) else {}
        if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
            raise WireError(f"{where}.images must be a list of strings")
        if len(images) > MAX_IMAGES:
            raise WireError(f"{where}.images lists more than {MAX_IMAGES} images")
        caps = cls(
            cpus=field_of(data, "cpus", int, where),
            memory_bytes=field_of(data, "memory_bytes", int, where),
            # Whatever a Giver calls it (x86_64, aarch64), compared as its platform's name.
            arch=_arch(field_of(data, "arch", str, where)),
            os=field_of(data, "os", str, where),
            docker_version=field_of(data, "docker_version", str, where),
            slots=field_of(data, "slots", int, where),
            images=tuple(images),
            labels=check_labels(labels, f"{where}.labels"),
            paused=_paused(data, where),
        )
        if caps.slots < 1:
            raise WireError(f"{where}.slots must be at least 1")
        return caps


def _arch(name: str) -> str:
    return platform_arch(name) or name


def _paused(data: Mapping[str, Any], where: str) -> str:
    paused = data.get("paused", "")
    if not isinstance(paused, str) or len(paused) > MAX_LABEL_VALUE_CHARS or "\n" in paused:
        raise WireError(
            f"{where}.paused must be one line of at most {MAX_LABEL_VALUE_CHARS} characters"
        )
    return paused


def check_labels(labels: Any, where: str = "labels") -> dict[str, str]:
    """`labels` if it maps label names (`region`, `net.residential`) to short strings."""
    if not isinstance(labels, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise WireError(f"{where} must map names to strings")
    if len(labels) > MAX_LABELS:
        raise WireError(f"{where} has more than {MAX_LABELS} labels")
    for name, value in labels.items():
        if not LABEL_NAME.fullmatch(name):
            raise WireError(
                f"{where}: label name {name!r} must be lowercase letters, digits, '.', '_' "
                "or '-', starting with a letter or digit (at most 63 characters)"
            )
        if len(value) > MAX_LABEL_VALUE_CHARS or "\n" in value:
            raise WireError(
                f"{where}.{name} must be one line of at most {MAX_LABEL_VALUE_CHARS} characters"
            )
    return dict(labels)


@dataclass(frozen=True, slots=True)
class GiverInfo:
    """A Giver as it presents itself when registering."""

    giver_id: str
    public_key: str
    name: str
    capabilities: Capabilities
    signed_at: float
    # Who lends the machine, as the volunteer names themselves; Givers with the
    # same volunteer never hold two copies of one block. Empty: this Giver alone.
    volunteer: str = ""

    @property
    def owner(self) -> str:
        """The volunteer this Giver counts as when copies must be independent."""
        return f"volunteer:{self.volunteer}" if self.volunteer else f"giver:{self.giver_id}"

    def to_wire(self) -> dict[str, Any]:
        return {
            "giver_id": self.giver_id,
            "public_key": self.public_key,
            "name": self.name,
            "capabilities": self.capabilities.to_wire(),
            "signed_at": self.signed_at,
            "volunteer": self.volunteer,
        }

    @classmethod
    def from_wire(cls, data: Any, where: str = "giver") -> "GiverInfo":
        return cls(
            giver_id=field_of(data, "giver_id", str, where),
            public_key=field_of(data, "public_key", str, where),
            name=field_of(data, "name", str, where),
            capabilities=Capabilities.from_wire(
                field_of(data, "capabilities", dict, where), f"{where}.capabilities"
            ),
            signed_at=float(field_of(data, "signed_at", (int, float), where)),
            volunteer=_volunteer(data, where),
        )


def _volunteer(data: Mapping[str, Any], where: str) -> str:
    volunteer = data.get("volunteer", "")
    if not isinstance(volunteer, str) or len(volunteer) > MAX_LABEL_VALUE_CHARS:
        raise WireError(
            f"{where}.volunteer must be a string of at most {MAX_LABEL_VALUE_CHARS} characters"
        )
    return volunteer


@dataclass(frozen=True, slots=True)
class KeyBlock:
    """The keys of one task: an explicit list, or the integers start <= k < stop."""

    keys: tuple[str, ...] = ()
    start: int | None = None
    stop: int | None = None

    def __post_init__(self) -> None:
        is_range = self.start is not None or self.stop is not None
        if is_range and self.keys:
            raise WireError("a key block is either a list of keys or a range, not both")
        if is_range and (self.start is None or self.stop is None or self.start >= self.stop):
            raise WireError(f"key range [{self.start}, {self.stop}) is empty or reversed")
        if not is_range and not self.keys:
            raise WireError("a key block has no keys")

    def __len__(self) -> int:
        if self.start is not None and self.stop is not None:
            return self.stop - self.start
        return len(self.keys)

    def __iter__(self) -> Iterator[str]:
        if self.start is not None and self.stop is not None:
            return (str(k) for k in range(self.start, self.stop))
        return iter(self.keys)

    def __contains__(self, key: object) -> bool:
        if self.start is not None and self.stop is not None:
            return (
                isinstance(key, str)
                and key.lstrip("-").isdigit()
                and str(int(key)) == key
                and self.start <= int(key) < self.stop
            )
        return key in self.keys

    def to_wire(self) -> dict[str, Any]:
        if self.start is not None:
            return {"range": [self.start, self.stop]}
        return {"keys": list(self.keys)}

    @classmethod
    def from_wire(cls, data: Any, where: str = "block") -> "KeyBlock":
        if isinstance(data, Mapping) and "range" in data:
            bounds = field_of(data, "range", list, where)
            if len(bounds) != 2 or not all(
                isinstance(b, int) and not isinstance(b, bool) for b in bounds
            ):
                raise WireError(f"{where}.range must be two integers [start, stop]")
            return cls(start=bounds[0], stop=bounds[1])
        keys = field_of(data, "keys", list, where)
        if not all(isinstance(k, str) for k in keys):
            raise WireError(f"{where}.keys must be a list of strings")
        return cls(keys=tuple(keys))


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits a task's container runs under.

    `output_bytes` bounds what it writes to its output directory, each file and
    all together; a peer that does not send it gets the default.
    """

    memory_bytes: int = 512 * 1024 * 1024
    cpus: float = 1.0
    pids: int = 128
    timeout_s: float = 600.0
    output_bytes: int = DEFAULT_OUTPUT_BYTES

    def to_wire(self) -> dict[str, Any]:
        return {
            "memory_bytes": self.memory_bytes,
            "cpus": self.cpus,
            "pids": self.pids,
            "timeout_s": self.timeout_s,
            "output_bytes": self.output_bytes,
        }

    @classmethod
    def from_wire(cls, data: Any, where: str = "limits") -> "Limits":
        limits = cls(
            memory_bytes=field_of(data, "memory_bytes", int, where),
            cpus=float(field_of(data, "cpus", (int, float), where)),
            pids=field_of(data, "pids", int, where),
            timeout_s=float(field_of(data, "timeout_s", (int, float), where)),
            output_bytes=(
                field_of(data, "output_bytes", int, where)
                if "output_bytes" in data
                else DEFAULT_OUTPUT_BYTES
            ),
        )
        values = (limits.memory_bytes, limits.cpus, limits.pids, limits.timeout_s)
        if min(*values, limits.output_bytes) <= 0:
            raise WireError(f"{where} values must all be positive")
        return limits


@dataclass(frozen=True, slots=True)
class Task:
    """One block of a job, as the Seeker assigns it to a Giver.

    A sealed job's tasks name its recipient's X25519 public key (`seal_to`), the
    job's `agreement_key` its Givers key the comparison of copies with, and the
    fields of each record's data that comparison ignores. A job that keeps debug
    captures, or takes the keys its scraper discovers, says so with `captures` and
    `discover`. Each is on the wire only when set, so a plain task's bytes (and
    signature) stay as they were.
    """

    task_id: str
    job_id: str
    image: str
    settings: dict[str, Any]
    block: KeyBlock
    network: str = "none"
    limits: Limits = field(default_factory=Limits)
    contract: int = CONTRACT_VERSION
    seal_to: str = ""
    agreement_key: str = ""
    ignore_fields: tuple[str, ...] = ()
    captures: bool = False
    discover: bool = False

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "task_id": self.task_id,
            "job_id": self.job_id,
            "image": self.image,
            "settings": self.settings,
            "block": self.block.to_wire(),
            "network": self.network,
            "limits": self.limits.to_wire(),
            "contract": self.contract,
        }
        if self.seal_to:
            wire["seal_to"] = self.seal_to
        if self.agreement_key:
            wire["agreement_key"] = self.agreement_key
        if self.ignore_fields:
            wire["ignore_fields"] = list(self.ignore_fields)
        if self.captures:
            wire["captures"] = True
        if self.discover:
            wire["discover"] = True
        return wire

    @classmethod
    def from_wire(cls, data: Any, where: str = "task") -> "Task":
        network = field_of(data, "network", str, where)
        if network not in NETWORK_MODES:
            raise WireError(f"{where}.network must be one of {', '.join(NETWORK_MODES)}")
        seal_to = _key_bytes(data, "seal_to", where)
        agreement_key = _key_bytes(data, "agreement_key", where)
        if bool(seal_to) != bool(agreement_key):
            raise WireError(f"{where}.seal_to and {where}.agreement_key go together")
        ignore_fields = data.get("ignore_fields", [])
        if not isinstance(ignore_fields, list) or not all(
            isinstance(f, str) and f for f in ignore_fields
        ):
            raise WireError(f"{where}.ignore_fields must be a list of field names")
        flags = {name: data.get(name, False) for name in ("captures", "discover")}
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise WireError(f"{where}.{name} must be true or false")
        return cls(
            task_id=field_of(data, "task_id", str, where),
            job_id=field_of(data, "job_id", str, where),
            image=field_of(data, "image", str, where),
            settings=field_of(data, "settings", dict, where),
            block=KeyBlock.from_wire(field_of(data, "block", dict, where), f"{where}.block"),
            network=network,
            limits=Limits.from_wire(field_of(data, "limits", dict, where), f"{where}.limits"),
            contract=field_of(data, "contract", int, where),
            seal_to=seal_to,
            agreement_key=agreement_key,
            ignore_fields=tuple(ignore_fields),
            **flags,
        )


def _key_bytes(data: Mapping[str, Any], name: str, where: str) -> str:
    """`data[name]` if it is absent (""), or 32 bytes in standard padded base64."""
    value = data.get(name, "")
    if value == "":
        return ""
    if not isinstance(value, str) or len(decode_key(value)) != KEY_BYTES:
        raise WireError(f"{where}.{name} must be {KEY_BYTES} bytes in base64")
    return value


def decode_key(text: str) -> bytes:
    """The bytes of standard padded base64 `text`; b"" if it is not that."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


@dataclass(frozen=True, slots=True)
class KeyOutcome:
    """Whether one key of a task was scraped, and why not if it was not."""

    key: str
    ok: bool
    reason: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"key": self.key, "ok": self.ok, "reason": self.reason}

    @classmethod
    def from_wire(cls, data: Any, where: str = "outcome") -> "KeyOutcome":
        return cls(
            key=field_of(data, "key", str, where),
            ok=field_of(data, "ok", bool, where),
            reason=field_of(data, "reason", (str, type(None)), where),
        )


@dataclass(frozen=True, slots=True)
class Result:
    """What a Giver returns for a task, signed with its identity.

    `records` are `{"key": str, "data": object}` dicts, or for a sealed task
    `{"key": str, "sealed": str}` (the data sealed to the job's recipient). A
    plain record may carry the raw page it was parsed from as `capture`
    (`{"media_type": str, "text": str}`) when its job keeps debug captures.
    `discovered` are new keys the scraper found, for a job that takes them.
    `error` is set when the task failed as a whole (the container crashed,
    timed out, wrote garbage). `digest` is the SHA-256 of the canonical records
    and `signature` signs the result's header (everything but the records,
    digest included). A sealed task's `agreement` is the keyed hash copies of
    it are compared by; on the wire only when set.
    """

    result_id: str
    task_id: str
    job_id: str
    giver_id: str
    records: list[dict[str, Any]]
    outcomes: list[KeyOutcome]
    error: str | None
    started_at: float
    finished_at: float
    digest: str = ""
    signature: str = ""
    agreement: str = ""
    discovered: tuple[str, ...] = ()

    def header(self) -> dict[str, Any]:
        """Every field but the records and the signature: what gets signed."""
        header = {
            "result_id": self.result_id,
            "task_id": self.task_id,
            "job_id": self.job_id,
            "giver_id": self.giver_id,
            "outcomes": [o.to_wire() for o in self.outcomes],
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "digest": self.digest,
        }
        if self.agreement:
            header["agreement"] = self.agreement
        if self.discovered:
            header["discovered"] = list(self.discovered)
        return header

    def to_wire(self) -> dict[str, Any]:
        return {**self.header(), "records": self.records, "signature": self.signature}

    @classmethod
    def from_wire(cls, data: Any, where: str = "result") -> "Result":
        records = field_of(data, "records", list, where)
        for i, record in enumerate(records):
            check_record(record, f"{where}.records[{i}]")
        outcomes = field_of(data, "outcomes", list, where)
        agreement = data.get("agreement", "")
        if not isinstance(agreement, str):
            raise WireError(f"{where}.agreement must be a string")
        discovered = data.get("discovered", [])
        if not isinstance(discovered, list) or not all(isinstance(k, str) for k in discovered):
            raise WireError(f"{where}.discovered must be a list of strings")
        return cls(
            result_id=field_of(data, "result_id", str, where),
            task_id=field_of(data, "task_id", str, where),
            job_id=field_of(data, "job_id", str, where),
            giver_id=field_of(data, "giver_id", str, where),
            records=records,
            outcomes=[
                KeyOutcome.from_wire(o, f"{where}.outcomes[{i}]") for i, o in enumerate(outcomes)
            ],
            error=field_of(data, "error", (str, type(None)), where),
            started_at=float(field_of(data, "started_at", (int, float), where)),
            finished_at=float(field_of(data, "finished_at", (int, float), where)),
            digest=field_of(data, "digest", str, where),
            signature=field_of(data, "signature", str, where),
            agreement=agreement,
            discovered=tuple(discovered),
        )


def check_record(record: Any, where: str) -> None:
    """A record has a key and exactly one of `data` (an object) or `sealed` (a string)."""
    key = field_of(record, "key", str, where)
    if ("data" in record) == ("sealed" in record):
        raise WireError(
            f"{where} (key {key!r}) must have exactly one of data (an object) or sealed (a string)"
        )
    if "data" in record:
        field_of(record, "data", dict, f"{where} (key {key!r})")
    else:
        field_of(record, "sealed", str, f"{where} (key {key!r})")
    if "capture" in record:
        check_capture(record, f"{where} (key {key!r})")


def check_capture(record: Any, where: str) -> None:
    """A plain record's capture is `{"media_type": str, "text": str}`."""
    if "sealed" in record:
        raise WireError(f"{where}: a sealed record carries no capture")
    capture = field_of(record, "capture", dict, where)
    if set(capture) != {"media_type", "text"}:
        raise WireError(f'{where}.capture must be {{"media_type": ..., "text": ...}}')
    field_of(capture, "media_type", str, f"{where}.capture")
    field_of(capture, "text", str, f"{where}.capture")


@dataclass(frozen=True, slots=True)
class Ack:
    """The Channel's receipt for a stored result; the same for a retried post."""

    result_id: str
    received_at: float

    def to_wire(self) -> dict[str, Any]:
        return {"result_id": self.result_id, "received_at": self.received_at}

    @classmethod
    def from_wire(cls, data: Any, where: str = "ack") -> "Ack":
        return cls(
            result_id=field_of(data, "result_id", str, where),
            received_at=float(field_of(data, "received_at", (int, float), where)),
        )
