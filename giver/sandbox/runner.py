"""What a Giver asks of whatever runs its tasks: one interface, `Runner`, which
giver.sandbox.docker_runner implements over the Docker Engine.

A Giver takes the way to connect one (`ConnectRunner`) as a parameter, so that
another runner can stand in for the Engine where no container should run (the
load bench's simulated Givers), with every other part of the Giver unchanged.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from channel.wire.models import Task
from giver.sandbox.images import LocalImage
from giver.sandbox.outputs import ContainerExit

ProgressCallback = Callable[[int, int], None]


class Runner(Protocol):
    """Runs the tasks of one Giver and holds the images they run from."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """One round trip; DockerError if it does not answer."""
        ...

    async def version(self) -> str:
        """The version of the engine that runs tasks, as Capabilities report it."""
        ...

    async def resolve_image(self, reference: str) -> LocalImage | None:
        """The local image `reference` names, or None if there is none."""
        ...

    async def load_image(self, archive: Path) -> list[str]:
        """Load the image archive at `archive`: the ids of the images loaded."""
        ...

    async def tag_image(self, image_id: str, repository: str, tag: str) -> None: ...

    async def remove_image(self, image_id: str) -> bool:
        """Remove image `image_id` unless something holds it; whether it went."""
        ...

    async def local_images(self) -> list[LocalImage]:
        """Every local image, newest first."""
        ...

    async def remove_leftovers(self) -> int:
        """Remove what a run of this Giver that crashed left; return how many."""
        ...

    async def run(
        self,
        task: Task,
        image_id: str,
        workdir: Path,
        on_progress: ProgressCallback,
        *,
        egress: Path | None = None,
    ) -> ContainerExit:
        """Run `task` from local image `image_id` over `workdir` (its output left in
        `workdir/output`, contract v1) until it exits or times out."""
        ...


class ConnectRunner(Protocol):
    """How a Giver gets its Runner when it starts (DockerRunner.connect by default)."""

    async def __call__(
        self, giver_id: str, *, progress_interval_s: float, max_pool_size: int
    ) -> Runner: ...
