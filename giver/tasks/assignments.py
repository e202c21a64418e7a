"""The tasks the Seeker assigns, on the Giver's side: checked, then released,
refused or accepted; an accepted one has its image fetched if it is not here,
runs (giver.tasks.execution) and reports its progress, and its slot is freed once
its container is gone.

A task assigned while the Giver takes none (paused, outside its active hours,
stopping), or one that needs the network while a traffic cap is reached, is
released back rather than refused: a refusal would keep this Giver off the
block, and fail the block if no other Giver is online.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from channel.wire.identity import Identity
from channel.wire.messages import Accept, Assign, Message, Progress, Refuse, Release
from channel.wire.models import Task
from giver.egress.gateway import Gateway
from giver.egress.traffic import Traffic
from giver.errors import DeliveryFailed, DeliveryRefused
from giver.link.outbox import Outbox
from giver.link.reporter import Reporter
from giver.link.session import Session
from giver.sandbox.delivery import Deliveries, Wanted
from giver.sandbox.fetched import FetchedImages
from giver.sandbox.images import LocalImage
from giver.sandbox.runner import Runner
from giver.tasks import execution
from giver.tasks.checks import Refused, TaskChecks
from giver.tasks.execution import Running
from giver.terms.capacity import Caps
from giver.terms.config import GiverConfig

log = logging.getLogger(__name__)

STOPPING_REASON = "the Giver is stopping"


class Assignments:
    """The side of `Giver` that runs the tasks the Seeker assigns; `Giver` mixes this
    in and owns the state read here."""

    config: GiverConfig
    _caps: Caps
    _checks: TaskChecks
    _traffic: Traffic
    _gateway: Gateway
    _identity: Identity | None
    _runner: Runner | None
    _deliveries: Deliveries | None
    _outbox: Outbox | None
    _session: Session | None
    _reporter: Reporter
    _stopping: asyncio.Event
    # Tasks assigned here and running (fetching their image, or in their container).
    _tasks: dict[str, "asyncio.Task[None]"]
    # Tasks holding a slot: from acceptance until their container is gone (and
    # their result is about to go to the outbox); stop() releases these.
    _busy: dict[str, Running]
    _released: set[str]
    # The image each task that holds a slot runs (once it is here).
    _using: dict[str, str]
    _fetched: FetchedImages | None
    idle_reason: Callable[[], Awaitable[str]]
    _send: Callable[[Message], bool]

    async def _assign(self, message: Assign) -> None:
        assert self._session is not None and self._runner is not None
        assert self._deliveries is not None and self._identity is not None
        idle = await self.idle_reason()
        task = replace(message.task, limits=self._caps.clamp(message.task.limits))
        checked = await self._checks.refusal(
            message,
            task,
            giver_id=self._identity.id,
            running=self._tasks,
            busy=[r.task.limits for r in self._busy.values()],
            outbox=self._outbox,
            runner=self._runner,
            deliveries=self._deliveries,
        )
        if not idle and task.network != "none":
            # Not refused: the Seeker hears of the cap in the next Report, and the
            # block waits for another Giver or for the cap to lift.
            idle = self._traffic.exhausted()
        if self._stopping.is_set() or idle:
            # Checked after the awaits, so stop() either sees the task busy or it is
            # released here. Not refused: a refusal would keep this Giver off the
            # block, and fail the block if no other Giver is online.
            why = STOPPING_REASON if self._stopping.is_set() else f"this Giver {idle}"
            log.info("releasing task %s at once: %s", task.task_id, why)
            self._session.send(Release(task.task_id, why))
            self._reporter.refresh_soon()
            return
        if isinstance(checked, Refused):
            log.warning("refusing task %s: %s", task.task_id, checked.reason)
            self._session.send(Refuse(task.task_id, checked.reason, checked.policy))
            return
        self._busy[task.task_id] = Running(task, time.time())
        self._session.send(Accept(task.task_id))
        worker = asyncio.create_task(self._work(task, checked), name=f"giver-task-{task.task_id}")
        self._tasks[task.task_id] = worker
        worker.add_done_callback(lambda _: self._forget(task.task_id, worker))
        log.info(
            "task %s of job %s accepted: %d key(s), image %s (%s)",
            task.task_id,
            task.job_id,
            len(task.block),
            task.image,
            "to be fetched from the Seeker" if isinstance(checked, Wanted) else checked.id,
        )

    def _cancel(self, task_id: str) -> None:
        worker = self._tasks.get(task_id)
        if worker is None:
            log.debug("cancel for task %s, which is not running here", task_id)
            return
        log.info("task %s cancelled by the Seeker", task_id)
        worker.cancel()

    def _forget(self, task_id: str, worker: "asyncio.Task[None]") -> None:
        if self._tasks.get(task_id) is worker:
            del self._tasks[task_id]
            self._busy.pop(task_id, None)
            self._using.pop(task_id, None)

    async def _work(self, task: Task, image: LocalImage | Wanted) -> None:
        """Fetch the task's image if it is not here, then run `task` and deliver what
        becomes of it (see giver.tasks.execution.work)."""
        assert self._runner is not None and self._outbox is not None
        assert self._identity is not None
        if isinstance(image, Wanted):
            fetched = await self._fetch(task, image)
            if fetched is None:
                return
            image = fetched
        self._using[task.task_id] = image.id
        if self._fetched is not None:
            await self._fetched.used(image.id)
        await execution.work(
            task,
            image.id,
            identity=self._identity,
            runner=self._runner,
            gateway=self._gateway,
            outbox=self._outbox,
            workdir=self.config.work_dir / task.task_id,
            send=self._send,
            on_progress=partial(self._on_progress, task.task_id),
            on_exited=partial(self._exited, task.task_id),
        )

    async def _fetch(self, task: Task, wanted: Wanted) -> LocalImage | None:
        """The task's image from the Seeker; None if it cannot be had, once the Seeker
        heard (`Refuse`, or `Release` if it may work later) and the slot is free."""
        assert self._deliveries is not None
        heartbeat = partial(self._on_progress, task.task_id, 0, len(task.block))
        try:
            return await self._deliveries.image(wanted, heartbeat)
        except DeliveryRefused as e:
            log.warning("refusing task %s after all: %s", task.task_id, e)
            self._send(Refuse(task.task_id, str(e)))
        except DeliveryFailed as e:
            log.warning("releasing task %s: %s", task.task_id, e)
            self._send(Release(task.task_id, str(e)))
        self._exited(task.task_id)
        return None

    async def _disk_room(self) -> int | None:
        """Bytes left under the disk cap beside the results waiting, what running
        tasks may write and the images fetched from the Seeker; None without a cap."""
        if self._caps.disk_bytes is None:
            return None
        waiting = (await self._outbox.stats()).bytes if self._outbox is not None else 0
        images = self._fetched.total_bytes if self._fetched is not None else 0
        return self._caps.disk_bytes - waiting - images - len(self._busy) * self._caps.output_bytes

    def _images_in_use(self) -> set[str]:
        return set(self._using.values())

    def _exited(self, task_id: str) -> bool:
        """The task's container is gone: free its slot; whether what it left is still
        wanted (not once the task was released)."""
        self._busy.pop(task_id, None)
        self._using.pop(task_id, None)
        self._reporter.refresh_soon()
        return task_id not in self._released

    def _on_progress(self, task_id: str, done: int, total: int) -> None:
        running = self._busy.get(task_id)
        if running is not None:
            running.done, running.total = done, total
        if self._session is not None:
            self._session.send(Progress(task_id, done, total))
