"""The scraper catalog as the Seeker keeps it: entries in the state store, images
read from the Seeker's Docker Engine, and jobs that name a scraper resolved
against it (seeker.catalog.entries has the entries themselves)."""

import logging
import time
from typing import Any

from seeker.catalog.archives import ImageArchives
from seeker.catalog.entries import Scraper, from_image
from seeker.catalog.images import DockerImages
from seeker.errors import InvalidJob, UnknownScraper
from seeker.state.base import StateStore

log = logging.getLogger(__name__)


class Catalog:
    """Scrapers by name, added from images of the Seeker's Docker Engine."""

    def __init__(self, store: StateStore, images: DockerImages, archives: ImageArchives) -> None:
        self._store = store
        self.images = images
        self.archives = archives

    async def add(self, reference: str) -> Scraper:
        """Read image `reference`'s labels and add it: a new scraper, or another
        architecture's image (or a newer one) of a scraper already listed. Its archive
        is saved for Givers that lack it; the archive of an image it replaces goes."""
        entry = from_image(reference, await self.images.inspect(reference), time.time())
        (digest,) = (v.digest for v in entry.variants.values())
        known = await self._store.scraper(entry.name)
        before = Scraper.from_wire(known) if known is not None else None
        if before is not None:
            entry = before.with_variant(entry)
        await self.archives.save(digest)
        try:
            await self._store.put_scraper(entry.to_wire())
        except BaseException:
            if digest not in _digests(before):
                await self.archives.remove(digest)
            raise
        for dropped in _digests(before) - _digests(entry):
            await self.archives.remove(dropped)
        log.info(
            "scraper %s: %s added (%s)",
            entry.name,
            reference,
            ", ".join(f"{v.arch} {v.digest[:19]}" for v in entry.variants.values()),
        )
        return entry

    async def list(self) -> list[Scraper]:
        return [Scraper.from_wire(doc) for doc in await self._store.scrapers()]

    async def get(self, name: str) -> Scraper:
        doc = await self._store.scraper(name)
        if doc is None:
            raise UnknownScraper(name)
        return Scraper.from_wire(doc)

    async def remove(self, name: str) -> None:
        """Remove scraper `name` and the archives of its images."""
        doc = await self._store.scraper(name)
        if not await self._store.delete_scraper(name):
            raise UnknownScraper(name)
        for digest in _digests(Scraper.from_wire(doc) if doc is not None else None):
            await self.archives.remove(digest)
        log.info("scraper %s removed from the catalog", name)

    async def by_digest(self, digest: str) -> Scraper | None:
        """The scraper one of whose images has id `digest`, or None."""
        for entry in await self.list():
            if any(v.digest == digest for v in entry.variants.values()):
                return entry
        return None

    async def resolve(self, body: dict[str, Any]) -> dict[str, Any]:
        """A job body that names a catalog `scraper`, as one that names its images
        (pinned by id), with its settings checked against the scraper's schema and
        its declared resources as the defaults of `limits` and `network`. A body
        without `scraper` is returned as it is."""
        if "scraper" not in body:
            return body
        name = body["scraper"]
        if not isinstance(name, str) or not name:
            raise InvalidJob("scraper must be the name of a catalog scraper", field="scraper")
        if "image" in body or "images" in body:
            raise InvalidJob(
                "give scraper (from the catalog) or image/images, not both", field="scraper"
            )
        doc = await self._store.scraper(name)
        if doc is None:
            raise InvalidJob(str(UnknownScraper(name)), field="scraper")
        entry = Scraper.from_wire(doc)
        settings = body.get("settings", {})
        if not isinstance(settings, dict):
            raise InvalidJob("settings must be an object", field="settings")
        entry.validate(settings)
        resources = entry.resources
        limits = body.get("limits", {})
        if isinstance(limits, dict):
            limits = {
                "memory_bytes": resources.memory_bytes,
                "cpus": resources.cpus,
                "timeout_s": resources.timeout_s,
                **limits,
            }
        return {
            **{k: v for k, v in body.items() if k != "scraper"},
            "images": entry.images(),
            "limits": limits,
            "network": body.get("network", "bridge" if resources.network else "none"),
            "scraper": name,
        }


def _digests(entry: Scraper | None) -> set[str]:
    """The ids of the images of `entry`, if any."""
    return {v.digest for v in entry.variants.values()} if entry is not None else set()
