"""Images this Giver lacks, delivered by the Seeker: no registry needed.

A task naming an image pinned by id (`repository@sha256:<id>`, as a job that
names a catalog scraper does) that is not here may still run:

1. Before anything is fetched, the volunteer's image policy is checked
   against the reference's repository and id; an image it does not allow is
   refused at once.
2. The task is accepted, and before its container runs the image's archive
   is fetched from the Seeker (`GET /api/v1/images/<id>/archive`, signed with
   this Giver's identity) into a temporary file in the data dir: no larger
   than the volunteer's `max_image_bytes`, nor than the room left under the
   disk cap. The download is paced by the volunteer's download rate and
   counted against their traffic caps (giver.egress.traffic).
3. The archive is checked without the Docker Engine's help (giver.sandbox.archives),
   loaded, and tagged `<repository>:sha256-<hex>` (the tag says where it came
   from, and lets later tasks find it under its repository). Resolved again,
   its id must be the one named and the policy must still allow it.
4. The image counts against the disk cap from then on (giver.sandbox.fetched): to make
   room for an archive, or once one is loaded, images fetched before are
   removed, least recently used first, never one a running task uses.

One download per image at a time: tasks needing an image being fetched wait
for that download, and their leases are kept alive meanwhile. A bad archive
is deleted, never loaded, and the task is refused with the reason naming the
image; for `BAD_ARCHIVE_HOLD_S` this Giver refuses that image at once rather
than fetch it again. A fetch that fails for now (the Seeker or the network)
raises DeliveryFailed, and the task goes back to the Seeker.
"""

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from channel.jsonweb import read_error
from channel.wire.identity import Identity
from channel.wire.references import DIGEST, repository_of
from channel.wire.signed_requests import API_ROOT, archive_path, request_headers
from giver.egress.traffic import Traffic
from giver.errors import BadArchive, DeliveryFailed, DeliveryRefused, DockerError
from giver.sandbox.archives import verify_archive
from giver.sandbox.fetched import FetchedImages
from giver.sandbox.images import ImagePolicy, LocalImage, fetch_refusal, refusal
from giver.sandbox.runner import Runner

log = logging.getLogger(__name__)

MIB = 2**20
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024
# How long an archive found bad is not fetched again.
BAD_ARCHIVE_HOLD_S = 600.0
# Statuses that say the Seeker will not give this Giver the archive: the task is refused.
REFUSING_STATUSES = (400, 401, 403, 404, 410)
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=60.0)


@dataclass(frozen=True, slots=True)
class Wanted:
    """A task's image that is not here, to be fetched from the Seeker."""

    reference: str
    digest: str

    @property
    def repository(self) -> str:
        return repository_of(self.reference)


def delivered_tag(digest: str) -> str:
    """The tag a delivered image gets in its repository: `sha256-<hex>`."""
    return digest.replace(":", "-")


class Deliveries:
    """Fetches images from the Seeker for this Giver's tasks.

    `seeker_url()` is where to fetch (empty: nowhere yet), `room()` the bytes left
    under the disk cap (None: no cap), and `heartbeat_s` how often a task waiting
    for its image says it is alive.
    """

    def __init__(
        self,
        runner: Runner,
        policy: ImagePolicy,
        identity: Identity,
        http: aiohttp.ClientSession,
        directory: Path,
        *,
        max_bytes: int,
        seeker_url: Callable[[], str],
        room: Callable[[], Awaitable[int | None]],
        heartbeat_s: float,
        traffic: Traffic,
        fetched: FetchedImages,
    ) -> None:
        self._runner = runner
        self._policy = policy
        self._identity = identity
        self._http = http
        self._directory = directory
        self._max_bytes = max_bytes
        self._seeker_url = seeker_url
        self._room = room
        self._heartbeat_s = heartbeat_s
        self._traffic = traffic
        self._fetched_images = fetched
        # The fetch under way of each image; every fetch task, also one being cancelled.
        self._fetching: dict[str, asyncio.Task[LocalImage]] = {}
        self._tasks: set[asyncio.Task[LocalImage]] = set()
        self._waiting: Counter[str] = Counter()
        self._bad: dict[str, tuple[str, float]] = {}
        self._downloading_bytes = 0

    def wanted(self, reference: str) -> Wanted | str:
        """What to fetch for a task naming image `reference`, which is not here, or
        why it cannot be fetched (the reason the task is refused)."""
        _, at, digest = reference.partition("@")
        absent = f"image {reference} is not present on this Giver"
        if not at or not DIGEST.fullmatch(digest):
            return f"{absent}; only an image pinned by id (REPOSITORY@sha256:...) is fetched"
        if self._max_bytes == 0:
            return f"{absent}, and its volunteer lets it fetch no images"
        if not self._seeker_url():
            return f"{absent}, and the Seeker named no URL to fetch it from"
        bad = self.failed_lately(reference)
        if bad:
            return bad
        return fetch_refusal(reference, digest, self._policy) or Wanted(reference, digest)

    def failed_lately(self, reference: str) -> str:
        """Why the image `reference` names by id was bad when last fetched, if that was
        lately (it is not fetched again meanwhile); '' if it was not."""
        bad = self._bad.get(reference.partition("@")[2])
        return bad[0] if bad is not None and bad[1] > time.monotonic() else ""

    def fetching(self, reference: str) -> bool:
        """Whether the image `reference` names by id is being fetched (it may be loaded
        but not yet tagged: a task naming it waits for the fetch)."""
        _, at, digest = reference.partition("@")
        return bool(at) and digest in self._fetching

    async def image(self, wanted: Wanted, heartbeat: Callable[[], None]) -> LocalImage:
        """The wanted image once it is here, fetched from the Seeker unless another
        task is fetching it already or fetched it meanwhile; `heartbeat()` is called
        while it is awaited. DeliveryRefused or DeliveryFailed if it cannot be had."""
        digest = wanted.digest
        fetching = self._fetching.get(digest)
        if fetching is None:
            try:
                here = await self._runner.resolve_image(wanted.reference)
            except DockerError as e:
                raise DeliveryFailed(f"cannot look for image {digest}: {e}", digest=digest) from e
            if here is not None and not refusal(wanted.reference, here, self._policy):
                return here
            fetching = self._fetching.get(digest)
        if fetching is None:
            fetching = asyncio.create_task(self._fetch(wanted), name=f"fetch-{digest[7:19]}")
            self._fetching[digest] = fetching
            self._tasks.add(fetching)
            fetching.add_done_callback(lambda done: self._fetched(digest, done))
        self._waiting[digest] += 1
        try:
            while True:
                done, _ = await asyncio.wait({fetching}, timeout=self._heartbeat_s)
                if done:
                    return fetching.result()
                heartbeat()
        finally:
            self._waiting[digest] -= 1
            if not self._waiting[digest]:
                del self._waiting[digest]
                if not fetching.done():
                    # No task wants it any more: stop the download.
                    self._fetching.pop(digest, None)
                    fetching.cancel()

    async def close(self) -> None:
        """Stop every download (safe twice)."""
        self._fetching.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _fetched(self, digest: str, done: "asyncio.Task[LocalImage]") -> None:
        self._tasks.discard(done)
        if self._fetching.get(digest) is done:
            del self._fetching[digest]
        if not done.cancelled() and done.exception() is not None:
            log.debug("fetching image %s failed: %s", digest, done.exception())

    async def _fetch(self, wanted: Wanted) -> LocalImage:
        digest = wanted.digest
        part = self._directory / f"{digest[7:]}.{uuid.uuid4().hex}.part"
        started = time.monotonic()
        try:
            size = await self._download(wanted, part)
            fetched = time.monotonic()
            try:
                verified = await asyncio.to_thread(verify_archive, part, digest)
            except BadArchive as e:
                reason = (
                    f"the Seeker's archive of image {digest} is bad ({e}); it was deleted, "
                    "not loaded"
                )
                now = time.monotonic()
                self._bad = {d: bad for d, bad in self._bad.items() if bad[1] > now}
                self._bad[digest] = (reason, now + BAD_ARCHIVE_HOLD_S)
                raise DeliveryRefused(reason, digest=digest) from e
            checked = time.monotonic()
            try:
                loaded = await self._runner.load_image(part)
            except DockerError as e:
                raise DeliveryRefused(
                    f"the Docker Engine did not load the archive of image {digest}: {e}",
                    digest=digest,
                ) from e
        finally:
            await asyncio.to_thread(_discard, part)
        done = time.monotonic()
        image = await self._installed(wanted, loaded)
        await self._fetched_images.add(digest, wanted.reference, size)
        room = await self._room()
        if room is not None and room < 0:
            await self._fetched_images.make_room(-room, keep={digest})
        log.info(
            "image %s delivered by the Seeker: %.1f MiB fetched in %.1f s, %d layer(s) "
            "checked in %.1f s, loaded in %.1f s",
            wanted.reference,
            size / MIB,
            fetched - started,
            verified.layers,
            checked - fetched,
            done - checked,
        )
        return image

    async def _installed(self, wanted: Wanted, loaded: list[str]) -> LocalImage:
        """The loaded image, tagged and found again as the task names it."""
        digest = wanted.digest

        def refused(why: str) -> DeliveryRefused:
            return DeliveryRefused(f"image {digest} from the Seeker: {why}", digest=digest)

        if loaded != [digest]:
            raise refused(f"the Docker Engine loaded {', '.join(loaded) or 'nothing'} instead")
        try:
            await self._runner.tag_image(digest, wanted.repository, delivered_tag(digest))
            image = await self._runner.resolve_image(wanted.reference)
        except DockerError as e:
            raise refused(f"cannot tag it or find it again: {e}") from e
        if image is None or image.id != digest:
            raise refused(f"the Docker Engine has {image.id if image else 'no image'} for it")
        why = refusal(wanted.reference, image, self._policy)
        if why:
            raise refused(why)
        return image

    async def _download(self, wanted: Wanted, part: Path) -> int:
        """Fetch the archive into `part`; its size."""
        digest, seeker_url = wanted.digest, self._seeker_url()
        path = archive_path(digest)
        url = f"{seeker_url}{API_ROOT}{path}"
        headers = request_headers(self._identity, "GET", path, time.time())
        try:
            await asyncio.to_thread(self._directory.mkdir, parents=True, exist_ok=True)
            async with self._http.get(url, headers=headers, timeout=DOWNLOAD_TIMEOUT) as response:
                if response.status != 200:
                    _, message = read_error(await response.content.read(MAX_ERROR_BYTES))
                    why = f"the Seeker answered {response.status} for image {digest}: {message}"
                    if response.status in REFUSING_STATUSES:
                        raise DeliveryRefused(why, digest=digest)
                    raise DeliveryFailed(why, digest=digest)
                length = response.content_length
                limit = await self._limit(digest, length)
                reserved = limit if length is None else length
                self._downloading_bytes += reserved
                try:
                    return await self._write(response, part, limit, digest)
                finally:
                    self._downloading_bytes -= reserved
        except (aiohttp.ClientError, TimeoutError) as e:
            raise DeliveryFailed(
                f"cannot fetch image {digest} from the Seeker at {seeker_url}: "
                f"{e or type(e).__name__}",
                digest=digest,
            ) from e
        except OSError as e:
            raise DeliveryFailed(
                f"cannot keep the archive of image {digest} in {self._directory}: {e}",
                digest=digest,
            ) from e

    async def _limit(self, digest: str, length: int | None) -> int:
        """The most the archive may take: the volunteer's limit, lowered to the room
        left under the disk cap; DeliveryRefused if its length is over it."""
        limit = self._max_bytes
        why = f"this Giver's image size limit ({limit // MIB} MiB)"
        room = await self._room()
        wanted = min(limit, length if length is not None else limit)
        if room is not None and room - self._downloading_bytes < wanted:
            # Images fetched before and unused lately go first, least recently used.
            room += await self._fetched_images.make_room(wanted - (room - self._downloading_bytes))
        if room is not None and room - self._downloading_bytes < limit:
            limit = max(0, room - self._downloading_bytes)
            why = f"the room left under this Giver's disk cap ({limit // MIB} MiB)"
        if length is not None and length > limit:
            raise DeliveryRefused(
                f"the archive of image {digest} ({length / MIB:.1f} MiB) is over {why}",
                digest=digest,
            )
        return limit

    async def _write(
        self, response: aiohttp.ClientResponse, part: Path, limit: int, digest: str
    ) -> int:
        f = await asyncio.to_thread(open, part, "wb")
        try:
            size = 0
            async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise DeliveryRefused(
                        f"the archive of image {digest} is larger than the {limit // MIB} MiB "
                        "this Giver takes",
                        digest=digest,
                    )
                await self._traffic.pace("down", len(chunk))
                await asyncio.to_thread(f.write, chunk)
        finally:
            await asyncio.to_thread(f.close)
        return size


def _discard(part: Path) -> None:
    """Remove a downloaded archive; warn, not raise, if it cannot be (this runs in cleanups)."""
    try:
        part.unlink(missing_ok=True)
    except OSError as e:
        log.warning("cannot remove %s: %s", part, e)
