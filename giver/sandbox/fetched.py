"""The scraper images this Giver fetched from the Seeker (giver.sandbox.delivery): counted
against its disk cap, and removed least recently used when the cap needs room.

They are listed in `fetched-images.json` in the data dir, each with the
reference it came as, its size (its archive's, what it takes on disk give or
take) and when a task last used it. Only images listed there are ever counted
or removed, never the volunteer's own; nor one a running task uses. An image
is removed by id without force, so one the volunteer has tagged meanwhile, or
that a container still uses, stays (and is no longer counted as this Giver's).
"""

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import asdict, dataclass
from pathlib import Path

from channel.errors import WireError
from channel.wire import canonical

log = logging.getLogger(__name__)

MIB = 2**20
LIST_FILE = "fetched-images.json"


@dataclass(frozen=True, slots=True)
class Fetched:
    """One image this Giver fetched."""

    image_id: str
    reference: str
    size_bytes: int
    last_used_at: float


class FetchedImages:
    """The fetched images' list, `remove(image_id)` (whether the Engine removed it)
    to remove one, and `in_use()` the ids running tasks use."""

    def __init__(
        self,
        path: Path,
        remove: Callable[[str], Awaitable[bool]],
        in_use: Callable[[], Collection[str]],
    ) -> None:
        self._path = path
        self._remove = remove
        self._in_use = in_use
        self._images: dict[str, Fetched] = {}
        self._saving = asyncio.Lock()

    async def open(self) -> None:
        """Read the list (none yet: empty)."""
        self._images = await asyncio.to_thread(self._load)

    def _load(self) -> dict[str, Fetched]:
        try:
            listed = canonical.loads(self._path.read_bytes())
            images = [Fetched(**entry) for entry in listed["images"]]
        except FileNotFoundError:
            return {}
        except (OSError, WireError, KeyError, TypeError) as e:
            log.warning("%s is unreadable (%s): fetched images are counted afresh", self._path, e)
            return {}
        return {image.image_id: image for image in images}

    async def _save(self) -> None:
        """Write the list as it is now, one write at a time (tasks starting together
        use images together); a failed write is logged, not raised: a task never fails
        for the bookkeeping of its image."""
        async with self._saving:
            listed = {"images": [asdict(image) for image in self._images.values()]}
            data = canonical.dumps(listed)

            def write() -> None:
                part = self._path.with_name(self._path.name + ".part")
                part.write_bytes(data)
                os.replace(part, self._path)

            try:
                await asyncio.to_thread(write)
            except OSError as e:
                log.warning("cannot write %s: %s", self._path, e)

    @property
    def total_bytes(self) -> int:
        """What the fetched images take, counted against the disk cap."""
        return sum(image.size_bytes for image in self._images.values())

    async def add(self, image_id: str, reference: str, size_bytes: int) -> None:
        """Count an image just fetched (as used now)."""
        self._images[image_id] = Fetched(image_id, reference, size_bytes, time.time())
        await self._save()

    async def used(self, image_id: str) -> None:
        """A task starts with `image_id`: if it is a fetched image, it is used now."""
        image = self._images.get(image_id)
        if image is not None:
            self._images[image_id] = Fetched(
                image.image_id, image.reference, image.size_bytes, time.time()
            )
            await self._save()

    async def make_room(self, need_bytes: int, keep: Collection[str] = ()) -> int:
        """Remove fetched images, least recently used first, until `need_bytes` are
        freed or none is left that no running task uses (nor `keep` names); the bytes
        freed."""
        freed, before = 0, len(self._images)
        spared = {*self._in_use(), *keep}
        for image in sorted(self._images.values(), key=lambda image: image.last_used_at):
            if freed >= need_bytes:
                break
            if image.image_id in spared:
                continue
            if await self._remove(image.image_id):
                freed += image.size_bytes
                log.info(
                    "removed image %s (%.1f MiB, fetched from the Seeker, last used %s) "
                    "to stay under the disk cap",
                    image.reference,
                    image.size_bytes / MIB,
                    time.strftime("%Y-%m-%d %H:%M", time.localtime(image.last_used_at)),
                )
            del self._images[image.image_id]
        if len(self._images) != before:
            await self._save()
        return freed
