"""What a job needs of a Giver: the image it runs there (one for every Giver, or
one per architecture), the requirements a Giver must meet, and the limits its
containers run under, read from a submission. Placement (seeker.grid.placement)
decides from these which Givers may run the job."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channel.errors import WireError
from channel.wire.givers import LABEL_NAME
from channel.wire.models import Limits
from channel.wire.platforms import known_arches, platform_arch
from seeker.errors import InvalidJob
from seeker.work.fields import whole

_LIMIT_FIELDS = {"memory_bytes", "cpus", "pids", "timeout_s", "output_bytes"}
_REQUIREMENT_FIELDS = {"min_cpus", "min_memory_bytes", "arch", "labels", "exclude_labels"}


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a job needs of a Giver. Labels are `name` (present with any value) or
    `name=value`."""

    min_cpus: int = 0
    min_memory_bytes: int = 0
    arch: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    exclude_labels: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {
            "min_cpus": self.min_cpus,
            "min_memory_bytes": self.min_memory_bytes,
            "arch": list(self.arch),
            "labels": list(self.labels),
            "exclude_labels": list(self.exclude_labels),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Requirements":
        return cls(
            min_cpus=data["min_cpus"],
            min_memory_bytes=data["min_memory_bytes"],
            arch=tuple(data["arch"]),
            labels=tuple(data["labels"]),
            exclude_labels=tuple(data["exclude_labels"]),
        )


def has_label(labels: Mapping[str, str], wanted: str) -> bool:
    name, eq, value = wanted.partition("=")
    return name in labels and (not eq or labels[name] == value)


def image_for(image: str, images: Mapping[str, str], arch: str) -> str | None:
    """The image a Giver of architecture `arch` runs: the job's one `image`, or from
    its `images` by architecture the one for `arch` (None if there is none)."""
    return images.get(arch) if images else image


def parse_images(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
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


def parse_limits(body: dict[str, Any]) -> Limits:
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


def parse_requirements(given: Any) -> Requirements:
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
        min_cpus=whole(given, "min_cpus", 0, 0, None, where="requires."),
        min_memory_bytes=whole(given, "min_memory_bytes", 0, 0, None, where="requires."),
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
