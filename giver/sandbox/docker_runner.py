"""The one door to the Docker Engine (reached as giver.sandbox.engine says): docker-py is
synchronous, so every call runs in a thread.

A task runs as one sandboxed container (read-only root, no capabilities, no
new privileges, memory/CPU/pids limits, non-root user, no network of its own
but the Giver's egress gateway's socket when the task needs one, or the host's
network when the volunteer allows it) that reads `/input/task.json` and writes
to `/output` (contract v1). No file it writes may grow past the task's output
limit (RLIMIT_FSIZE), and a container whose output as a whole breaks its
limits is killed. Its whole log is read once it ends (cut as a Result carries
it, channel.wire.results.cut_log), and the container is always removed,
whether the task finishes, times out, overflows, fails or is cancelled. The
sandbox itself is written in channel.wire.sandbox. Images are never
pulled (the Seeker delivers those a Giver lacks, see giver.sandbox.delivery): a task's
image is resolved once to a local image, and its container is created from
that image's id.
"""

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import docker
import requests
from docker.models.containers import Container

from channel.wire import canonical, sandbox
from channel.wire.models import Task
from channel.wire.results import cut_log
from giver.errors import DockerError, ImageMissing
from giver.sandbox.engine import engine_client
from giver.sandbox.images import LocalImage
from giver.sandbox.outputs import ContainerExit, output_overflow, read_progress, remove_tree
from giver.sandbox.runner import ProgressCallback

log = logging.getLogger(__name__)

GIVER_LABEL = "seekgive.giver"
TASK_LABEL = "seekgive.task"
LOG_CONFIG = docker.types.LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"})
STDERR_TAIL_LINES = 20
STDERR_LINE_CHARS = 500
STOP_WAIT_S = 30
ENDED_STATES = ("exited", "dead")

T = TypeVar("T")


class DockerRunner:
    """Runs tasks of one Giver as containers named and labelled after it."""

    def __init__(
        self,
        client: docker.DockerClient,
        giver_id: str,
        *,
        progress_interval_s: float = 1.0,
        threads: int = 10,
    ) -> None:
        self._client = client
        self.giver_id = giver_id
        self._progress_interval_s = progress_interval_s
        # Its own threads: a running container holds one for up to a progress interval.
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="docker")

    @classmethod
    async def connect(
        cls, giver_id: str, *, progress_interval_s: float = 1.0, max_pool_size: int = 10
    ) -> "DockerRunner":
        """Connect to the Engine the environment names (DOCKER_HOST or the local
        socket); DockerUnavailable says why it cannot be used and what to do."""
        client = await asyncio.to_thread(engine_client, os.environ, max_pool_size)
        return cls(client, giver_id, progress_interval_s=progress_interval_s, threads=max_pool_size)

    async def close(self) -> None:
        await self._call(self._client.close)
        self._executor.shutdown(wait=True)

    async def ping(self) -> None:
        """One round trip to the Engine; DockerError if it does not answer."""
        await self._call(self._client.ping)

    async def version(self) -> str:
        """The Engine's version, e.g. '24.0.7'."""
        return str((await self._call(self._client.version))["Version"])

    async def resolve_image(self, reference: str) -> LocalImage | None:
        """The local image `reference` names (a tag, an id, or `repo@digest`: a
        repository digest, else the image with that id), or None if there is none."""
        _, at, digest = reference.partition("@")

        def resolve() -> LocalImage | None:
            for name in (reference, digest) if at else (reference,):
                try:
                    image = self._client.images.get(name)
                except docker.errors.ImageNotFound:
                    continue
                return LocalImage.from_engine(
                    str(image.id),
                    image.tags,
                    image.attrs.get("RepoDigests") or (),
                    (image.attrs.get("Config") or {}).get("Labels") or {},
                )
            return None

        return await self._call(resolve)

    async def load_image(self, archive: Path) -> list[str]:
        """Load the image archive at `archive` (`docker load`; check it first, see
        giver.sandbox.archives): the ids of the images the Engine says it loaded."""

        def load() -> list[str]:
            with open(archive, "rb") as f:
                return [str(image.id) for image in self._client.images.load(f)]

        return await self._call(load)

    async def tag_image(self, image_id: str, repository: str, tag: str) -> None:
        """Tag local image `image_id` as `repository:tag`."""
        await self._call(self._client.api.tag, image_id, repository, tag)

    async def remove_image(self, image_id: str) -> bool:
        """Remove the image `image_id` unless something holds it (another tag, a
        container); whether it went."""
        try:
            await self._call(self._client.images.remove, image_id)
        except DockerError as e:
            log.info("image %s stays: %s", image_id, e)
            return False
        return True

    async def local_images(self) -> list[LocalImage]:
        """Every local image, newest first (what the Seeker hears of them, giver.sandbox.images
        decides)."""
        return local_images(await self._call(self._client.api.images))

    async def remove_leftovers(self) -> int:
        """Remove containers of this Giver left by a run that crashed; return how many."""

        def remove() -> int:
            containers = self._client.containers.list(
                all=True, filters={"label": f"{GIVER_LABEL}={self.giver_id}"}
            )
            for container in containers:
                log.info("removing leftover container %s", container.name)
                _remove(container)
            return len(containers)

        return await self._call(remove)

    async def run(
        self,
        task: Task,
        image_id: str,
        workdir: Path,
        on_progress: ProgressCallback,
        *,
        egress: Path | None = None,
    ) -> ContainerExit:
        """Run `task` in a container of the local image `image_id` (resolved from the
        task's image when it was accepted) over `workdir` until it exits or times out.

        The container has no network but `task.network` "host" (the caller checked
        the volunteer allows it); `egress`, a directory holding the egress gateway's
        socket, is bound into it as its way out.

        `on_progress(done, total)` is called whenever progress.json changes.
        Raises ImageMissing or DockerError; output is left in `workdir/output`.
        """
        input_dir, output_dir = await asyncio.to_thread(prepare_workdir, task, workdir)
        creating = asyncio.ensure_future(
            self._call(
                self._create, task, image_id, input_dir, output_dir, egress, task_id=task.task_id
            )
        )
        try:
            container = await asyncio.shield(creating)
            await self._call(container.start, task_id=task.task_id)
            log.debug("task %s: container %s started", task.task_id, container.name)
            return await self._watch(container, task, output_dir, on_progress)
        finally:
            # Shielded: even a second cancellation leaves the removal running to its end.
            await asyncio.shield(_discard(creating))

    async def _watch(
        self, container: Container, task: Task, output_dir: Path, on_progress: ProgressCallback
    ) -> ContainerExit:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + task.limits.timeout_s
        last_progress = None
        while True:
            state = await self._call(_state, container, task_id=task.task_id)
            overflow = await asyncio.to_thread(
                output_overflow, output_dir, task.limits.output_bytes
            )
            if overflow is not None:
                log.info("task %s: %s, killing its container", task.task_id, overflow)
                end = functools.partial(_exit, container, overflow=overflow)
                return await self._call(end, task_id=task.task_id)
            progress = await asyncio.to_thread(read_progress, output_dir)
            if progress is not None and progress != last_progress:
                last_progress = progress
                on_progress(*progress)
            if state["Status"] in ENDED_STATES:
                return await self._call(_exit, container, task_id=task.task_id)
            remaining_s = deadline - loop.time()
            if remaining_s <= 0:
                log.info(
                    "task %s: timed out after %g s, killing its container",
                    task.task_id,
                    task.limits.timeout_s,
                )
                end = functools.partial(_exit, container, timed_out=True)
                return await self._call(end, task_id=task.task_id)
            await self._call(
                _wait_until_ended,
                container,
                min(self._progress_interval_s, remaining_s),
                task_id=task.task_id,
            )

    def _create(
        self, task: Task, image_id: str, input_dir: Path, output_dir: Path, egress: Path | None
    ) -> Container:
        try:
            image = self._client.images.get(image_id)
        except docker.errors.ImageNotFound as e:
            raise ImageMissing(image_id, task_id=task.task_id) from e
        volumes = {
            str(input_dir.resolve()): {"bind": sandbox.INPUT_DIR, "mode": "ro"},
            str(output_dir.resolve()): {"bind": sandbox.OUTPUT_DIR, "mode": "rw"},
        }
        if egress is not None:
            volumes[str(egress.resolve())] = {"bind": sandbox.EGRESS_DIR, "mode": "ro"}
        return self._client.containers.create(
            image_id,
            name=f"seekgive-{self.giver_id}-{task.task_id}",
            labels={GIVER_LABEL: self.giver_id, TASK_LABEL: task.task_id},
            user=sandbox.container_user(image.attrs.get("Config", {}).get("User")),
            environment=sandbox.environment(egress is not None),
            volumes=volumes,
            read_only=True,
            tmpfs=sandbox.TMPFS,
            cap_drop=list(sandbox.CAP_DROP),
            security_opt=list(sandbox.SECURITY_OPT),
            mem_limit=task.limits.memory_bytes,
            memswap_limit=task.limits.memory_bytes,
            nano_cpus=int(task.limits.cpus * 1e9),
            pids_limit=task.limits.pids,
            ulimits=[
                docker.types.Ulimit(
                    name="fsize", soft=task.limits.output_bytes, hard=task.limits.output_bytes
                )
            ],
            network_mode="host" if task.network == "host" else "none",
            log_config=LOG_CONFIG,
        )

    async def _call(self, fn: Callable[..., T], *args: Any, task_id: str = "") -> T:
        """`fn(*args)` in a thread, with docker-py's errors wrapped in DockerError."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except (docker.errors.DockerException, requests.RequestException) as e:
            where = f"task {task_id}: " if task_id else ""
            raise DockerError(f"{where}docker: {e}", task_id=task_id) from e


def local_images(listed: list[dict[str, Any]]) -> list[LocalImage]:
    """The images as the Engine lists them, newest first."""
    return [
        LocalImage.from_engine(
            str(image.get("Id", "")),
            image.get("RepoTags") or (),
            image.get("RepoDigests") or (),
            image.get("Labels") or {},
        )
        for image in sorted(listed, key=lambda i: i.get("Created", 0), reverse=True)
    ]


def prepare_workdir(task: Task, workdir: Path) -> tuple[Path, Path]:
    """Create `workdir/input/task.json` and an `output/` any container user can write."""
    remove_tree(workdir)
    input_dir, output_dir = workdir / "input", workdir / "output"
    input_dir.mkdir(parents=True)
    output_dir.mkdir()
    task_file = input_dir / sandbox.TASK_FILE
    task_file.write_bytes(canonical.dumps(sandbox.task_input(task)))
    os.chmod(task_file, 0o644)
    os.chmod(input_dir, 0o755)
    os.chmod(output_dir, 0o777)
    return input_dir, output_dir


def _state(container: Container) -> dict[str, Any]:
    container.reload()
    return container.attrs["State"]


def _wait_until_ended(container: Container, timeout_s: float) -> None:
    """Return when the container ends, or after `timeout_s` if it is still running."""
    try:
        container.wait(timeout=timeout_s)
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        pass  # still running; a real connection failure shows in the next state read


def _exit(
    container: Container, *, timed_out: bool = False, overflow: str | None = None
) -> ContainerExit:
    """Read how the container ended; kill it first if it timed out or overflowed."""
    if timed_out or overflow is not None:
        try:
            container.kill()
        except docker.errors.APIError as e:
            log.debug("killing %s: %s", container.name, e)  # it ended meanwhile
    status = container.wait(timeout=STOP_WAIT_S)
    state = _state(container)
    stderr = container.logs(stdout=False, stderr=True, tail=STDERR_TAIL_LINES)
    lines = [
        line.rstrip()[:STDERR_LINE_CHARS] for line in stderr.decode(errors="replace").splitlines()
    ]
    return ContainerExit(
        exit_code=int(status["StatusCode"]),
        timed_out=timed_out,
        oom_killed=bool(state.get("OOMKilled")),
        overflow=overflow,
        stderr_tail=tuple(line for line in lines if line),
        log=cut_log(container.logs(stdout=True, stderr=True)),
    )


async def _discard(creating: "asyncio.Future[Container]") -> None:
    """Remove the container once its creation has ended, if it was created at all."""
    await asyncio.wait([creating])
    if not creating.cancelled() and creating.exception() is None:
        await asyncio.to_thread(_remove, creating.result())


def _remove(container: Container) -> None:
    """Kill and remove the container; log instead of raising, this runs in cleanups."""
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except (docker.errors.DockerException, requests.RequestException) as e:
        log.warning("cannot remove container %s: %s", container.name, e)
