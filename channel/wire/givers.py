"""What a Giver says of itself on the wire: its capabilities (CPUs, memory,
architecture, Docker, slots, cached images), its volunteer's labels and name,
all in the signed description it registers with (`GiverInfo`).

Each model converts to a plain dict (`to_wire`) and back (`from_wire`),
checking shapes so that bad input fails with a message naming the field.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from channel.errors import WireError
from channel.wire.models import field_of
from channel.wire.platforms import platform_arch

MAX_IMAGES = 1000


MAX_LABELS = 64


MAX_LABEL_VALUE_CHARS = 200


LABEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


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
    # Why it runs no task that needs the network now (its traffic cap is reached),
    # as such a clause; on the wire only when set, as `paused` is.
    network_paused: str = ""

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
        for name in ("paused", "network_paused"):
            if getattr(self, name):
                wire[name] = getattr(self, name)
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
            paused=_clause(data, "paused", where),
            network_paused=_clause(data, "network_paused", where),
        )
        if caps.slots < 1:
            raise WireError(f"{where}.slots must be at least 1")
        return caps


def _arch(name: str) -> str:
    return platform_arch(name) or name


def _clause(data: Mapping[str, Any], name: str, where: str) -> str:
    clause = data.get(name, "")
    if not isinstance(clause, str) or len(clause) > MAX_LABEL_VALUE_CHARS or "\n" in clause:
        raise WireError(
            f"{where}.{name} must be one line of at most {MAX_LABEL_VALUE_CHARS} characters"
        )
    return clause


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
    # The seekgive release the Giver runs (channel.wire.release); empty from Givers
    # that predate saying so.
    version: str = ""

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
            **({"version": self.version} if self.version else {}),
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
            version=_clause(data, "version", where),
        )


def _volunteer(data: Mapping[str, Any], where: str) -> str:
    volunteer = data.get("volunteer", "")
    if not isinstance(volunteer, str) or len(volunteer) > MAX_LABEL_VALUE_CHARS:
        raise WireError(
            f"{where}.volunteer must be a string of at most {MAX_LABEL_VALUE_CHARS} characters"
        )
    return volunteer
