"""The Seeker's Docker Engine: where it reads scraper images' labels and saves
their archives.

The Docker SDK is synchronous; every call runs in a thread of its own
executor, so the event loop never waits on the Engine. The Engine is the one
the environment names (DOCKER_HOST, else the local socket), reached on first use.
"""

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
from requests.exceptions import RequestException

from seeker.errors import ArchiveError, ImageUnavailable, ServiceUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
SAVE_CHUNK_BYTES = 1024 * 1024


class DockerImages:
    """Reads images from the Docker Engine; `close()` releases it (safe twice)."""

    def __init__(self) -> None:
        self._client: docker.APIClient | None = None
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="seeker-docker")

    async def inspect(self, reference: str) -> dict[str, Any]:
        """The Engine's description of image `reference`; ImageUnavailable if the
        Engine cannot be reached or has no such image."""
        return await self._call(
            reference,
            lambda client: client.inspect_image(reference),  # type: ignore[no-untyped-call]  # types-docker: untyped
        )

    async def save(self, image_id: str, path: Path) -> int:
        """Write the Engine's archive of image `image_id` (`docker save`, untagged) to
        `path`, chunk by chunk, under a temporary name renamed at the end; its size.
        ImageUnavailable if the Engine cannot give it, ArchiveError if it cannot be
        written."""

        def save(client: docker.APIClient) -> int:
            part = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                size = 0
                with open(part, "wb") as f:
                    for chunk in client.get_image(image_id, chunk_size=SAVE_CHUNK_BYTES):
                        f.write(chunk)
                        size += len(chunk)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(part, path)
                return size
            except OSError as e:
                raise ArchiveError(
                    f"cannot write the archive of image {image_id} to {path}: {e}", image=image_id
                ) from e
            finally:
                _discard(part)

        return await self._call(image_id, save)

    async def ping(self) -> None:
        """One round trip to the Engine; ServiceUnavailable if it does not answer."""

        def ping() -> None:
            try:
                self._connected().ping()
            except (docker.errors.DockerException, RequestException) as e:
                raise ServiceUnavailable(
                    f"cannot reach the Docker Engine: {e}", service="docker_engine"
                ) from e

        await asyncio.get_running_loop().run_in_executor(self._executor, ping)

    def _connected(self) -> docker.APIClient:
        """The client, connected on first use (in an executor thread)."""
        if self._client is None:
            self._client = docker.APIClient(version="auto")
        return self._client

    async def _call(self, reference: str, fn: Callable[[docker.APIClient], T]) -> T:
        def call() -> T:
            try:
                return fn(self._connected())
            except docker.errors.ImageNotFound as e:
                raise ImageUnavailable(
                    f"the Seeker's Docker Engine has no image {reference} (build or load it "
                    "there first)",
                    image=reference,
                ) from e
            except (docker.errors.DockerException, RequestException) as e:
                raise ImageUnavailable(
                    f"cannot read image {reference} from the Seeker's Docker Engine: {e}",
                    image=reference,
                ) from e

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, client.close)
        await asyncio.to_thread(self._executor.shutdown)


def _discard(part: Path) -> None:
    """Remove a partly written archive; warn, not raise, if it cannot be (this runs in cleanups)."""
    try:
        part.unlink(missing_ok=True)
    except OSError as e:
        log.warning("cannot remove %s: %s", part, e)
