"""The archives of the catalog's images, kept for Givers that lack an image.

Each image the catalog adds is saved from the Seeker's Docker Engine
(`docker save` of its id, so the archive names no tag) to
`<data_dir>/images/<hex of its id>.tar`, written under a temporary name and
renamed, so a Giver is only ever sent a whole archive. An archive goes when
no scraper names its image any more. Givers verify an archive against the
image id they were told before they load it (giver.sandbox.archives).
"""

import asyncio
import logging
import time
from pathlib import Path

from channel.wire.references import DIGEST
from seeker.catalog.images import DockerImages

log = logging.getLogger(__name__)

MIB = 2**20


class ImageArchives:
    """Archives by image id in `directory`, saved from `images`."""

    def __init__(self, directory: Path, images: DockerImages) -> None:
        self.directory = directory
        self._images = images

    def path(self, digest: str) -> Path:
        """Where the archive of the image with id `digest` (sha256:HEX) is kept."""
        if not DIGEST.fullmatch(digest):
            raise ValueError(f"not an image id: {digest!r}")
        return self.directory / f"{digest.removeprefix('sha256:')}.tar"

    async def save(self, digest: str) -> int:
        """Save the archive of image `digest` from the Seeker's Engine; its size."""
        started = time.monotonic()
        size = await self._images.save(digest, self.path(digest))
        log.info(
            "image %s saved for Givers: %.1f MiB in %.1f s",
            digest,
            size / MIB,
            time.monotonic() - started,
        )
        return size

    async def exists(self, digest: str) -> bool:
        return await asyncio.to_thread(self.path(digest).is_file)

    async def remove(self, digest: str) -> None:
        """Remove the archive of image `digest`, if there is one."""
        path = self.path(digest)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return
        except OSError as e:
            log.warning("cannot remove the archive of image %s: %s", digest, e)
            return
        log.info("archive of image %s removed", digest)
