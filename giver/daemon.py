"""The Giver daemon: registers with a Seeker, runs the tasks it assigns, delivers results.

Each accepted task runs as a container; its output becomes a signed Result
that goes to the outbox first, then to the Channel, and once the Channel has
acknowledged it the Seeker hears `Done`. A task that fails yields a Result
with an error; it never stops the Giver. A task whose output breaks the
contract yields no Result: the Seeker hears `Invalidate` instead. A Giver
that stops releases the tasks still running, so the Seeker can give them to
another Giver at once instead of waiting for their leases to lapse. What the
Giver offers is probed again after every task and every `report_interval_s`;
the Seeker hears of changes in a `Report`.

A task runs only if the Seeker key this Giver trusts (configured, or pinned
on first contact) signed it for this Giver, and only if its image is present
and allowed by the volunteer's image policy; the container is created from
the image id resolved when the task was accepted. Otherwise the Seeker hears
`Refuse` with the reason.
"""

import asyncio
import logging
import re
import shutil
import time
import uuid
from pathlib import Path

import aiohttp

from channel.client import ChannelClient
from channel.errors import WireError
from channel.identity import Identity, verify_value
from channel.lifecycle import AsyncLifecycle
from channel.messages import (
    Accept,
    Assign,
    Cancel,
    Challenge,
    Done,
    Invalidate,
    Message,
    Progress,
    Refuse,
    Release,
)
from channel.models import CONTRACT_VERSION, Capabilities, KeyOutcome, Result, Task
from channel.signing import sign_result
from giver import outputs
from giver.config import GiverConfig
from giver.docker_runner import DockerRunner
from giver.errors import GiverError
from giver.images import ImagePolicy, LocalImage, refusal
from giver.outbox import Outbox
from giver.pinning import SeekerKeyPin
from giver.probe import probe
from giver.registration import Registration, register
from giver.reporter import Reporter
from giver.session import Session

log = logging.getLogger(__name__)

SAFE_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# No total limit (a result may be large); a dead peer shows as a connect or read timeout.
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=120.0)
STOPPING_REASON = "the Giver is stopping"
# How long stop() waits for its releases to be written before closing the session.
RELEASE_DRAIN_TIMEOUT_S = 2.0


class Giver(AsyncLifecycle):
    """The daemon: `start()`, `serve()`, `stop()`, or `async with Giver(config)`."""

    def __init__(self, config: GiverConfig) -> None:
        self.config = config
        self.capabilities: Capabilities | None = None
        self.registration: Registration | None = None
        self._identity: Identity | None = None
        self._runner: DockerRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._outbox: Outbox | None = None
        self._session: Session | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._reporter = Reporter(self._probe, self._send, interval_s=config.report_interval_s)
        self._pin = SeekerKeyPin(config.seeker_key, config.seeker_key_path)
        self._policy = ImagePolicy(config.allowed_images)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Tasks holding a slot: from acceptance until their container is gone (and
        # their result is about to go to the outbox); stop() releases these.
        self._busy: set[str] = set()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()

    @property
    def id(self) -> str:
        if self._identity is None:
            raise GiverError("the Giver has no identity before start()")
        return self._identity.id

    async def _start(self) -> None:
        """Load the identity, check Docker, register, open the outbox and the session."""
        config = self.config
        self._identity = await asyncio.to_thread(Identity.load_or_create, config.identity_path)
        await asyncio.to_thread(self._pin.load)
        self._runner = await DockerRunner.connect(
            self.id,
            progress_interval_s=config.progress_interval_s,
            max_pool_size=2 * config.slots + 4,
        )
        left = await self._runner.remove_leftovers()
        if left:
            log.warning("removed %d container(s) left by a previous run", left)
        await asyncio.to_thread(shutil.rmtree, config.work_dir, ignore_errors=True)
        self._http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        self.registration = await self._register()
        self._outbox = Outbox(
            config.outbox_dir,
            ChannelClient(self.registration.channel_url, self._http),
            retry_max_s=config.outbox_retry_max_s,
            on_delivered=self._on_delivered,
        )
        await self._outbox.start()
        self._session = Session(
            self._http,
            config.seeker_url,
            self._identity,
            reconnect_max_s=config.reconnect_max_s,
            on_message=self._on_message,
            register=self._register,
            on_challenge=self._check_challenge,
            on_open=self._reporter.session_opened,
        )
        self._session_task = asyncio.create_task(self._session.run(), name="giver-session")
        self._reporter.start()
        assert self.capabilities is not None
        log.info(
            "giver %s (%s) started: %d slot(s), %d CPU(s), %d MiB, %s/%s, Docker %s, "
            "%d cached image reference(s); trusts Seeker key %s; allowed images: %s",
            self.id,
            config.name,
            config.slots,
            self.capabilities.cpus,
            self.capabilities.memory_bytes // 2**20,
            self.capabilities.os,
            self.capabilities.arch,
            self.capabilities.docker_version,
            len(self.capabilities.images),
            self._pin.key,
            self._policy.describe(),
        )

    async def serve(self) -> None:
        """Serve until stopped; raises if the session with the Seeker fails for good."""
        session_task = self._session_task
        if session_task is None:
            raise GiverError("start() the Giver before serving it")
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({session_task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if session_task.done() and not session_task.cancelled():
            session_task.result()

    async def stop(self) -> None:
        """Stop taking tasks, release those still running, close the session, kill
        and remove running containers, let outbox writes finish; safe to call twice."""
        if self._stopping.is_set():
            await self._stopped.wait()
            return
        self._stopping.set()
        try:
            await self._release_running()
            await self._reporter.stop()
            await _cancel(self._session_task)
            workers = list(self._tasks.values())
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if self._outbox is not None:
                await self._outbox.stop()
            if self._runner is not None:
                await self._runner.close()
            if self._http is not None:
                await self._http.close()
            log.info("giver stopped")
        finally:
            self._stopped.set()

    async def _release_running(self) -> None:
        """Tell the Seeker to give the tasks still running to another Giver, and wait
        (a little) for that to be written. Without a session nothing is sent: the
        leases then lapse on the Seeker."""
        if self._session is None:
            return
        running = sorted(self._busy)
        released = [t for t in running if self._session.send(Release(t, STOPPING_REASON))]
        if not released:
            return
        try:
            async with asyncio.timeout(RELEASE_DRAIN_TIMEOUT_S):
                written = await self._session.drain()
        except TimeoutError:
            written = False
        if written:
            log.info("released %d running task(s): %s", len(released), ", ".join(released))
        else:
            log.warning(
                "releasing %d running task(s) may not have reached the Seeker; "
                "their leases will lapse",
                len(released),
            )

    async def _register(self) -> Registration:
        """Register with what this machine offers now (also when registering again)."""
        assert self._http is not None and self._identity is not None
        try:
            capabilities = await self._probe()
        except GiverError as e:
            if self.capabilities is None:
                raise
            log.warning("cannot probe this machine again (%s); registering as probed last", e)
            capabilities = self.capabilities
        registration = await register(
            self._http,
            self.config.seeker_url,
            self._identity,
            name=self.config.name,
            volunteer=self.config.volunteer,
            capabilities=capabilities,
            retry_max_s=self.config.reconnect_max_s,
            token=self.config.token,
        )
        if self._pin.check(registration.seeker_key, self.config.seeker_url):
            await asyncio.to_thread(self._pin.save)
        self._reporter.registered(capabilities)
        return registration

    def _check_challenge(self, challenge: Challenge) -> None:
        """The session's Seeker must name the key this Giver trusts."""
        self._pin.check(challenge.seeker_key, self.config.seeker_url)

    async def _probe(self) -> Capabilities:
        assert self._runner is not None
        self.capabilities = await probe(
            self._runner, slots=self.config.slots, labels=self.config.labels
        )
        return self.capabilities

    def _send(self, message: Message) -> bool:
        return self._session is not None and self._session.send(message)

    async def _on_message(self, message: Message) -> None:
        if isinstance(message, Assign):
            await self._assign(message)
        elif isinstance(message, Cancel):
            self._cancel(message.task_id)
        else:
            log.warning("ignoring an unexpected %s message from the Seeker", message.TYPE)

    async def _assign(self, message: Assign) -> None:
        assert self._session is not None
        task = message.task
        checked = await self._refusal(message)
        if self._stopping.is_set():
            # Checked after the await, so stop() either sees the task busy or it is
            # released here. Not refused: a refusal would keep this Giver off the
            # block, and fail the block if no other Giver is online.
            log.info("releasing task %s at once: %s", task.task_id, STOPPING_REASON)
            self._session.send(Release(task.task_id, STOPPING_REASON))
            return
        if isinstance(checked, str):
            log.warning("refusing task %s: %s", task.task_id, checked)
            self._session.send(Refuse(task.task_id, checked))
            return
        self._busy.add(task.task_id)
        self._session.send(Accept(task.task_id))
        worker = asyncio.create_task(
            self._work(task, checked.id), name=f"giver-task-{task.task_id}"
        )
        self._tasks[task.task_id] = worker
        worker.add_done_callback(lambda _: self._forget(task.task_id, worker))
        log.info(
            "task %s of job %s accepted: %d key(s), image %s (%s)",
            task.task_id,
            task.job_id,
            len(task.block),
            task.image,
            checked.id,
        )

    async def _refusal(self, message: Assign) -> LocalImage | str:
        """The local image the assigned task will run as, or why it cannot run here."""
        assert self._runner is not None
        task = message.task
        if not message.signature:
            return "the task carries no signature of the Seeker"
        if not self._pin.key or not verify_value(
            self._pin.key, Assign.signed_value(self.id, task), message.signature
        ):
            return (
                f"the task's signature does not verify with the Seeker key this Giver "
                f"trusts ({self._pin.key or 'none pinned yet'}); it was altered, meant for "
                "another Giver, or not sent by the Seeker"
            )
        if task.contract != CONTRACT_VERSION:
            return (
                f"contract {task.contract} is not supported "
                f"(this Giver speaks contract {CONTRACT_VERSION})"
            )
        if not SAFE_TASK_ID.fullmatch(task.task_id):
            return "the task id is not a safe name (letters, digits, '_', '.', '-')"
        if task.task_id in self._tasks:
            return "the task is already running here"
        if len(self._busy) >= self.config.slots:
            return f"no free slot (all {self.config.slots} are busy)"
        try:
            image = await self._runner.resolve_image(task.image)
        except GiverError as e:
            return f"cannot check image {task.image}: {e}"
        reason = refusal(task.image, image, self._policy)
        return image if image is not None and not reason else reason

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
            self._busy.discard(task_id)

    async def _work(self, task: Task, image_id: str) -> None:
        """Run `task` and put its signed result in the outbox, or invalidate it if its
        output cannot be trusted; never raises but cancellation."""
        assert self._runner is not None and self._outbox is not None
        assert self._identity is not None
        workdir = self.config.work_dir / task.task_id
        started_at = time.time()
        try:
            output = await self._execute(task, image_id, workdir)
            # The container is gone: free the slot before the Seeker can hear of the result.
            self._busy.discard(task.task_id)
            self._reporter.refresh_soon()
            if isinstance(output, outputs.UntrustedOutput):
                self._invalidate(task, output.reason)
                return
            try:
                result = self._signed(task, output, started_at)
            except WireError as e:
                output = failed_output(task, f"the scraper's output cannot be encoded: {e}")
                result = self._signed(task, output, started_at)
            await self._outbox.put(result)
            ok = sum(o.ok for o in output.outcomes)
            log.info(
                "task %s finished: %d of %d key(s) ok, %d record(s)%s",
                task.task_id,
                ok,
                len(output.outcomes),
                len(output.records),
                f"; error: {output.error}" if output.error else "",
            )
        except GiverError as e:
            log.error("task %s: %s", task.task_id, e)
        except Exception:
            log.exception("task %s failed unexpectedly", task.task_id)
        finally:
            await asyncio.to_thread(_remove_workdir, workdir)

    def _invalidate(self, task: Task, reason: str) -> None:
        assert self._session is not None
        log.warning("task %s: the scraper's output cannot be trusted: %s", task.task_id, reason)
        if not self._session.send(Invalidate(task.task_id, reason)):
            log.warning(
                "task %s: no session to invalidate it in; its lease will lapse", task.task_id
            )

    def _signed(self, task: Task, output: outputs.ScraperOutput, started_at: float) -> Result:
        assert self._identity is not None
        return sign_result(
            self._identity,
            Result(
                result_id=uuid.uuid4().hex,
                task_id=task.task_id,
                job_id=task.job_id,
                giver_id=self.id,
                records=output.records,
                outcomes=output.outcomes,
                error=output.error,
                started_at=started_at,
                finished_at=time.time(),
            ),
        )

    async def _execute(
        self, task: Task, image_id: str, workdir: Path
    ) -> outputs.ScraperOutput | outputs.UntrustedOutput:
        """What the scraper produced, or a failed output if the container could not run."""
        assert self._runner is not None
        try:
            run = await self._runner.run(
                task,
                image_id,
                workdir,
                lambda done, total: self._on_progress(task.task_id, done, total),
            )
        except (GiverError, OSError) as e:
            return failed_output(task, str(e))
        return await asyncio.to_thread(outputs.collect, workdir / "output", task, run)

    def _on_progress(self, task_id: str, done: int, total: int) -> None:
        if self._session is not None:
            self._session.send(Progress(task_id, done, total))

    def _on_delivered(self, result: Result) -> None:
        if self._session is not None:
            self._session.send(Done(result.task_id, result.result_id))


async def _cancel(task: "asyncio.Task[None] | None") -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _remove_workdir(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    if workdir.exists():
        log.warning("cannot remove all of %s (a scraper left files it alone may delete)", workdir)


def failed_output(task: Task, reason: str) -> outputs.ScraperOutput:
    """The output of a task that could not run: every key failed for `reason`."""
    return outputs.ScraperOutput(
        outcomes=[KeyOutcome(key, False, reason) for key in task.block], error=reason
    )
