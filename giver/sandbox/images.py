"""The volunteer's image policy, and the local image a task runs as.

A policy is a list of patterns: a repository (`seekgive/catalog`, any of its
tags), a namespace (`seekgive/*`, any repository under it), or a digest
(`sha256:` and 64 hex digits, an image id or a repository digest). No
patterns allow any image. The Giver never pulls; an image pinned by id that
is not here may come from the Seeker (giver.sandbox.delivery), and the policy is
checked against its repository and id before anything is fetched.

The Seeker hears of the images here only as the ids of scraper images (those
carrying the labels `seekgive-sdk build` writes, which a catalog entry is made of)
that speak this Giver's contract, have a repository, and that the policy
allows: the ids a catalog job's `repository@id` names. Other images, and
every tag name, stay the volunteer's business.

A task's image reference is resolved once, when the task is accepted, to a
local image; the policy is checked against that image's tags, repository
digests and id, and the container is created from its id, so a tag moved in
the meantime cannot swap the image. A reference pinned by digest
(`repo@sha256:…`) must name that repository's digest or the image's id.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from channel.wire.givers import MAX_IMAGES
from channel.wire.models import CONTRACT_VERSION
from channel.wire.references import CONTRACT_LABEL, DIGEST, SCHEMA_LABEL, repository_of
from giver.errors import BadImagePattern

MIB = 2**20
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# An optional registry host (with a port), then path components.
REPOSITORY = re.compile(rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*")


@dataclass(frozen=True, slots=True)
class LocalImage:
    """An image present on this Giver, as the Docker Engine describes it."""

    id: str
    tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    # The scraper contract its label declares; images without the label speak 1.
    contract: str = "1"
    # Whether it carries the settings schema label `seekgive-sdk build` writes: a scraper
    # image the Seeker's catalog could hold.
    scraper: bool = False

    @classmethod
    def from_engine(
        cls,
        image_id: str,
        tags: Iterable[str],
        repo_digests: Iterable[str],
        labels: Mapping[str, str],
    ) -> "LocalImage":
        """The image as the Engine describes it, without the `<none>` placeholders of
        an untagged image."""
        return cls(
            id=image_id,
            tags=tuple(t for t in tags if not t.startswith("<none>")),
            repo_digests=tuple(d for d in repo_digests if not d.startswith("<none>")),
            contract=str(labels.get(CONTRACT_LABEL, "1")),
            scraper=SCHEMA_LABEL in labels,
        )

    def repositories(self) -> set[str]:
        return {repository_of(reference) for reference in (*self.tags, *self.repo_digests)}

    def digests(self) -> set[str]:
        return {self.id, *(reference.partition("@")[2] for reference in self.repo_digests)}


class ImagePolicy:
    """Which local images this Giver's volunteer lets tasks run."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(pattern.strip() for pattern in patterns)
        for pattern in self.patterns:
            check_pattern(pattern)

    def allows(self, image: LocalImage) -> bool:
        if not self.patterns:
            return True
        repositories, digests = image.repositories(), image.digests()
        for pattern in self.patterns:
            if pattern in digests or pattern in repositories:
                return True
            if pattern.endswith("/*") and any(r.startswith(pattern[:-1]) for r in repositories):
                return True
        return False

    def describe(self) -> str:
        return ", ".join(self.patterns) if self.patterns else "any local image"

    def stated(self, max_image_bytes: int) -> str:
        """What this policy lets tasks run, with fetching from the Seeker up to
        `max_image_bytes` (0: none), as the Giver states it when it starts."""
        fetched = (
            f"catalog images the Seeker delivers (archives up to {max_image_bytes // MIB} MiB)"
        )
        unfetched = "fetches none from the Seeker (max_image is 0)"
        if not self.patterns:
            if max_image_bytes:
                return f"runs any image present here, and {fetched}"
            return f"runs any image present here; {unfetched}"
        matching = f"runs only images matching {self.describe()}"
        if max_image_bytes:
            return f"{matching}: present here, or {fetched}"
        return f"{matching} present here; {unfetched}"


def offered(images: Iterable[LocalImage], policy: ImagePolicy) -> tuple[str, ...]:
    """The ids the Seeker hears of, sorted: of the `images` (newest first; past
    MAX_IMAGES, the newest) those that are scrapers of this Giver's contract, under
    a repository, and allowed by `policy`."""
    ids: dict[str, None] = {}
    for image in images:
        if (
            image.scraper
            and image.contract == str(CONTRACT_VERSION)
            and image.repositories()
            and policy.allows(image)
        ):
            ids[image.id] = None
    return tuple(sorted(list(ids)[:MAX_IMAGES]))


def check_pattern(pattern: str) -> None:
    """Raise BadImagePattern unless `pattern` is a repository, a namespace or a digest."""
    if DIGEST.fullmatch(pattern):
        return
    if pattern.startswith("sha256:"):
        raise BadImagePattern(pattern, "a digest is sha256: and 64 lowercase hex digits")
    name = pattern.removesuffix("/*")
    if name != repository_of(name) or "@" in name:
        raise BadImagePattern(
            pattern,
            "name a repository without a tag (seekgive/catalog), a namespace "
            "(seekgive/*) or a digest (sha256:...); a tag can be moved to another image",
        )
    if not REPOSITORY.fullmatch(name):
        raise BadImagePattern(pattern, "not a repository name (lowercase, e.g. seekgive/catalog)")


def fetch_refusal(reference: str, digest: str, policy: ImagePolicy) -> str:
    """Why image `reference` (`repository@digest`), absent here, may not be fetched
    for a task: '' if the policy would allow it (its repository or its digest)."""
    wanted = LocalImage(id=digest, tags=(), repo_digests=(f"{repository_of(reference)}@{digest}",))
    return "" if policy.allows(wanted) else _not_allowed(reference, policy)


def refusal(reference: str, image: LocalImage | None, policy: ImagePolicy) -> str:
    """Why a task naming image `reference`, found here as `image`, may not run: ''
    if it may."""
    if image is None:
        return f"image {reference} is not present on this Giver (it never pulls images)"
    repository, at, digest = reference.partition("@")
    if at and not (
        f"{repository}@{digest}" in image.repo_digests
        or (digest == image.id and repository in image.repositories())
    ):
        return (
            f"image {reference} does not match the local image {image.id} "
            f"(repository digests: {', '.join(image.repo_digests) or 'none'}; "
            f"tags: {', '.join(image.tags) or 'none'})"
        )
    if not policy.allows(image):
        return _not_allowed(reference, policy)
    if image.contract != str(CONTRACT_VERSION):
        return (
            f"image {reference} speaks scraper contract {image.contract!r} (its "
            f"{CONTRACT_LABEL} label); this Giver knows contract {CONTRACT_VERSION} only"
        )
    return ""


def _not_allowed(reference: str, policy: ImagePolicy) -> str:
    return f"image {reference} is not allowed by this Giver's policy (allowed: {policy.describe()})"
