"""The scraper catalog: what the Seeker learned of each scraper image by reflection.

A scraper image describes itself in labels written when it is built
(`seekgive-sdk build`): its settings as a JSON Schema (`seekgive.settings-schema`),
the contract it speaks, the resources it needs, and its name and description
(the OCI `title` and `description` labels). `seeker scrapers add IMAGE` reads
them from the Docker Engine's description of the image, without running it.

A scraper is known by its name and may have one image per architecture (its
variants), each pinned by the image's id, so a job that names the scraper runs
exactly the image that was added whatever its tag points to later.
"""

import re
from dataclasses import dataclass, field, replace
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from channel.errors import WireError
from channel.wire import canonical
from channel.wire.models import CONTRACT_VERSION
from channel.wire.platforms import platform_arch
from channel.wire.references import (
    CONTRACT_LABEL,
    DESCRIPTION_LABEL,
    RESOURCES_LABEL,
    SCHEMA_LABEL,
    TITLE_LABEL,
    repository_of,
)
from seeker.errors import InvalidJob, InvalidScraper

KNOWN_CONTRACTS = (CONTRACT_VERSION,)
MAX_ERRORS_SHOWN = 5
# What the SDK allows: a scraper's name goes in URLs and commands as it is.
NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
MAX_NAME_CHARS = 63


@dataclass(frozen=True, slots=True)
class Resources:
    """What a scraper declares it needs: the defaults of a job that names it."""

    memory_bytes: int = 512 * 1024 * 1024
    cpus: float = 1.0
    timeout_s: float = 600.0
    network: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "memory_bytes": self.memory_bytes,
            "cpus": self.cpus,
            "timeout_s": self.timeout_s,
            "network": self.network,
        }

    @classmethod
    def from_wire(cls, data: Any) -> "Resources":
        if not isinstance(data, dict):
            raise ValueError("must be a JSON object")
        memory, cpus, timeout = (data.get(n) for n in ("memory_bytes", "cpus", "timeout_s"))
        network = data.get("network", False)
        numbers = {"memory_bytes": memory, "cpus": cpus, "timeout_s": timeout}
        for name, value in numbers.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                raise ValueError(f"{name} must be a positive number")
        if not isinstance(network, bool):
            raise ValueError("network must be true or false")
        default = cls()
        return cls(
            memory_bytes=int(memory) if memory is not None else default.memory_bytes,
            cpus=float(cpus) if cpus is not None else default.cpus,
            timeout_s=float(timeout) if timeout is not None else default.timeout_s,
            network=network,
        )


@dataclass(frozen=True, slots=True)
class Variant:
    """One architecture's image of a scraper: the reference it was added as, and
    the image's id (its digest) and size."""

    arch: str
    image: str
    digest: str
    size_bytes: int

    @property
    def pinned(self) -> str:
        """The reference a task names: the repository pinned to the image's id."""
        return f"{repository_of(self.image)}@{self.digest}"

    def to_wire(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "image": self.image,
            "digest": self.digest,
            "size_bytes": self.size_bytes,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "Variant":
        return cls(data["arch"], data["image"], data["digest"], data["size_bytes"])


@dataclass(frozen=True, slots=True)
class Scraper:
    """A catalog entry: a scraper's name, description, contract, settings schema,
    resources, and its image for each architecture."""

    name: str
    description: str
    contract: int
    schema: dict[str, Any]
    resources: Resources
    variants: dict[str, Variant] = field(default_factory=dict)
    added_at: float = 0.0

    @property
    def arches(self) -> list[str]:
        return sorted(self.variants)

    def images(self) -> dict[str, str]:
        """The pinned image of each architecture, as a job's `images`."""
        return {arch: v.pinned for arch, v in sorted(self.variants.items())}

    def with_variant(self, other: "Scraper") -> "Scraper":
        """This entry with `other`'s variant added (or replacing the one of its
        architecture); InvalidScraper if `other` is another scraper in all but name."""
        for what in ("contract", "schema", "resources"):
            if getattr(self, what) != getattr(other, what):
                raise InvalidScraper(
                    f"image {_only(other).image} declares another {what} than the "
                    f"{', '.join(self.arches)} image(s) of scraper {self.name!r}; remove the "
                    "scraper first to replace all its images",
                    name=self.name,
                )
        variant = _only(other)
        return replace(
            self,
            description=other.description,
            variants={**self.variants, variant.arch: variant},
            added_at=other.added_at,
        )

    def problems(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        """What breaks the schema in `settings`, in the settings' order: each as the
        setting it is about (`settings.NAME`) and what is wrong with it."""
        errors = sorted(
            Draft202012Validator(self.schema).iter_errors(settings),
            key=lambda e: [str(p) for p in e.absolute_path],
        )
        return [_describe(error) for error in errors]

    def validate(self, settings: dict[str, Any]) -> None:
        """Raise InvalidJob naming the first settings that break the schema."""
        problems = self.problems(settings)
        if not problems:
            return
        shown = problems[:MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        text = "; ".join(f"{name}: {message}" for name, message in shown)
        raise InvalidJob(
            f"settings of scraper {self.name!r}: {text}" + (f" (and {more} more)" if more else ""),
            field=shown[0][0],
        )

    def to_wire(self) -> dict[str, Any]:
        """The entry as stored and shown; `order` keeps the settings' order, which
        canonical JSON (keys sorted) does not."""
        return {
            "name": self.name,
            "description": self.description,
            "contract": self.contract,
            "schema": self.schema,
            "order": list(self.schema.get("properties", {})),
            "resources": self.resources.to_wire(),
            "arches": self.arches,
            "variants": [v.to_wire() for _, v in sorted(self.variants.items())],
            "added_at": self.added_at,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "Scraper":
        variants = [Variant.from_wire(v) for v in data["variants"]]
        schema = data["schema"]
        properties = schema.get("properties")
        if isinstance(properties, dict):
            order = [name for name in data.get("order", ()) if name in properties]
            ordered = {name: properties[name] for name in [*order, *sorted(properties)]}
            schema = {**schema, "properties": ordered}
        return cls(
            name=data["name"],
            description=data["description"],
            contract=data["contract"],
            schema=schema,
            resources=Resources.from_wire(data["resources"]),
            variants={v.arch: v for v in variants},
            added_at=data["added_at"],
        )


def from_image(reference: str, attrs: dict[str, Any], now: float) -> Scraper:
    """The catalog entry an image describes (`attrs`: the Docker Engine's inspection
    of it); InvalidScraper naming what is missing or wrong."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}

    def refuse(why: str) -> InvalidScraper:
        return InvalidScraper(f"image {reference}: {why}", name=reference)

    if SCHEMA_LABEL not in labels:
        raise refuse(
            f"no {SCHEMA_LABEL} label; build it with `seekgive-sdk build`, which writes the "
            "labels from the scraper's declaration"
        )
    try:
        schema = canonical.loads(labels[SCHEMA_LABEL].encode())
        Draft202012Validator.check_schema(schema)
    except WireError as e:
        raise refuse(f"label {SCHEMA_LABEL} is not JSON: {e}") from e
    except SchemaError as e:
        raise refuse(f"label {SCHEMA_LABEL} is not a valid JSON Schema: {e.message}") from e
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise refuse(f'label {SCHEMA_LABEL} must describe an object ("type": "object")')
    contract_text = labels.get(CONTRACT_LABEL, "")
    if not contract_text.isdigit() or int(contract_text) not in KNOWN_CONTRACTS:
        raise refuse(
            f"label {CONTRACT_LABEL} is {contract_text or 'missing'}; this Seeker knows "
            f"contract {', '.join(map(str, KNOWN_CONTRACTS))}"
        )
    try:
        resources = Resources.from_wire(canonical.loads(labels.get(RESOURCES_LABEL, "{}").encode()))
    except (WireError, ValueError) as e:
        raise refuse(f"label {RESOURCES_LABEL}: {e}") from e
    name = labels.get(TITLE_LABEL, "").strip()
    if not name:
        raise refuse(f"no {TITLE_LABEL} label (the scraper's name)")
    if len(name) > MAX_NAME_CHARS or not NAME.fullmatch(name):
        raise refuse(
            f"label {TITLE_LABEL} is {name[:80]!r}; a scraper's name is lowercase letters and "
            f"digits with . _ - between them, at most {MAX_NAME_CHARS} characters"
        )
    arch = platform_arch(str(attrs.get("Architecture", "")))
    if arch is None:
        raise refuse(f"unknown architecture {attrs.get('Architecture')!r}")
    variant = Variant(arch, reference, str(attrs["Id"]), int(attrs.get("Size", 0)))
    return Scraper(
        name=name,
        description=labels.get(DESCRIPTION_LABEL, "").strip(),
        contract=int(contract_text),
        schema=schema,
        resources=resources,
        variants={arch: variant},
        added_at=now,
    )


def _only(entry: Scraper) -> Variant:
    (variant,) = entry.variants.values()
    return variant


def _describe(error: Any) -> tuple[str, str]:
    """The setting an error is about (`settings.a.b`), and what is wrong with it."""
    path = ["settings", *(str(p) for p in error.absolute_path)]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return ".".join([*path, missing]), "is required"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return ".".join([*path, extra[0]]) if extra else ".".join(path), "is not a setting of it"
    return ".".join(path), error.message
