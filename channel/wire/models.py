"""Tasks on the wire: the block of keys a task covers, the limits its container
runs under, and the task a Seeker signs for a Giver; and `field_of`, which
every wire model (here, channel.wire.givers, channel.wire.results) reads its
fields with.

Each model converts to a plain dict (`to_wire`) for canonical JSON and back
(`from_wire`), checking shapes so that bad input fails with a message naming
the field instead of surfacing later as a KeyError.
"""

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from channel.errors import WireError

CONTRACT_VERSION = 1
NETWORK_MODES = ("none", "host", "bridge")
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
