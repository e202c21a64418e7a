"""The Giver daemon: registers with a Seeker, runs the tasks it assigns, delivers results.

It dials the Seeker at its URL, or in LAN mode advertises itself over mDNS
and waits for a Seeker to dial it; either way one session carries the work.

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

The volunteer's controls: caps on CPUs, memory and disk (each task's limits
are clamped to them, and a task that does not fit beside the running ones
is refused), a pause and active hours (no new tasks; running ones go on; the
Seeker hears why in the `paused` field of the Capabilities, and a task
assigned meanwhile is released back), and `drain()` before `stop()`.
"""

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from channel.client import ChannelClient
from channel.errors import WireError
from channel.identity import Identity, verify_value
from channel.lan import Advert
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
from channel.models import (
    CONTRACT_VERSION,
    MAX_LABEL_VALUE_CHARS,
    Capabilities,
    KeyOutcome,
    Result,
    Task,
)
from channel.signing import sign_result
from giver import outputs, pause, status
from giver.advertiser import Advertiser
from giver.capacity import Caps
from giver.config import GiverConfig
from giver.control import ControlServer
from giver.docker_runner import DockerRunner
from giver.errors import GiverError
from giver.hours import outside
from giver.images import ImagePolicy, LocalImage, refusal
from giver.listener import Listener
from giver.outbox import Outbox
from giver.pinning import SeekerKeyPin
from giver.probe import probe
from giver.registration import Registration, register, signed_registration
from giver.reporter import Reporter
from giver.session import Dialler, Introduction, Session

log = logging.getLogger(__name__)

SAFE_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# No total limit (a result may be large); a dead peer shows as a connect or read timeout.
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=120.0)
STOPPING_REASON = "the Giver is stopping"
STOPPING_CLAUSE = "is stopping"
PAUSED_CLAUSE = "is paused by its volunteer"
# While draining, how often to look whether the outbox has emptied.
DRAIN_POLL_S = 0.5
# How long stop() waits for its releases to be written before closing the session.
RELEASE_DRAIN_TIMEOUT_S = 2.0


@dataclass(slots=True)
class Running:
    """A task holding a slot: as it runs (limits clamped to the caps), and its progress."""

    task: Task
    started_at: float
    done: int = 0
    total: int = 0


class Giver(AsyncLifecycle):
    """The daemon: `start()`, `serve()`, `stop()`, or `async with Giver(config)`.

    `clock()` is the local time that active hours are checked against.
    """

    def __init__(
        self, config: GiverConfig, *, clock: Callable[[], datetime] = datetime.now
    ) -> None:
        self.config = config
        self._clock = clock
        self._caps = Caps(config.cpus_cap, config.memory_cap_bytes, config.disk_cap_bytes)
        self.capabilities: Capabilities | None = None
        self.registration: Registration | None = None
        self._identity: Identity | None = None
        self._runner: DockerRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._outbox: Outbox | None = None
        self._channel: ChannelClient | None = None
        self._session: Session | None = None
        self._listener: Listener | None = None
        self._advertiser: Advertiser | None = None
        # Dials the Seeker, or in LAN mode follows this machine's addresses.
        self._serving: asyncio.Task[None] | None = None
        self._reporter = Reporter(self._probe, self._send, interval_s=config.report_interval_s)
        self._pin = SeekerKeyPin(config.seeker_key, config.seeker_key_path)
        self._policy = ImagePolicy(config.allowed_images)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Tasks holding a slot: from acceptance until their container is gone (and
        # their result is about to go to the outbox); stop() releases these.
        self._busy: dict[str, Running] = {}
        self._paused_at: float | None = None
        self._draining = False
        self._delivered = asyncio.Event()
        self._recent = status.RecentErrors()
        self._control: ControlServer | None = None
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()

    @property
    def id(self) -> str:
        if self._identity is None:
            raise GiverError("the Giver has no identity before start()")
        return self._identity.id

    async def _start(self) -> None:
        """Load the identity, check Docker, then register and dial the Seeker (opening
        the outbox), or in LAN mode listen and advertise."""
        config = self.config
        self._recent.attach()
        self._identity = await asyncio.to_thread(Identity.load_or_create, config.identity_path)
        await asyncio.to_thread(self._pin.load)
        self._paused_at = await asyncio.to_thread(pause.paused_since, config.pause_path)
        self._control = ControlServer(config.control_path, self)
        await self._control.start()
        self._runner = await DockerRunner.connect(
            self.id,
            progress_interval_s=config.progress_interval_s,
            max_pool_size=2 * config.slots + 4,
        )
        left = await self._runner.remove_leftovers()
        if left:
            log.warning("removed %d container(s) left by a previous run", left)
        await asyncio.to_thread(_remove_workdir, config.work_dir)
        self._http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        self._session = Session(
            self._identity,
            on_message=self._on_message,
            on_challenge=self._check_challenge,
            on_open=self._reporter.session_opened,
        )
        if config.lan:
            await self._start_lan()
        else:
            self.registration = await self._register()
            await self._open_outbox(self.registration.channel_url)
            dialler = Dialler(
                self._http,
                config.seeker_url,
                self._session,
                giver_id=self.id,
                reconnect_max_s=config.reconnect_max_s,
                register=self._register,
            )
            self._serving = asyncio.create_task(dialler.run(), name="giver-session")
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
        if self.capabilities.paused:
            log.info("giver takes no tasks for now: it %s", self.capabilities.paused)

    async def _start_lan(self) -> None:
        """Listen for a Seeker's session and advertise where."""
        assert self._session is not None
        config = self.config
        self._listener = Listener(self._session, *config.listen, introduce=self._introduce)
        await self._listener.start()
        self._advertiser = Advertiser(
            Advert(self.id, self._listener.port),
            interfaces=config.mdns_interfaces,
            check_interval_s=config.address_check_s,
        )
        await self._advertiser.start()
        self._serving = asyncio.create_task(self._advertiser.watch(), name="giver-advert")

    async def _open_outbox(self, channel_url: str) -> None:
        assert self._http is not None
        self._channel = ChannelClient(channel_url, self._http)
        self._outbox = Outbox(
            self.config.outbox_dir,
            self._channel,
            retry_max_s=self.config.outbox_retry_max_s,
            on_delivered=self._on_delivered,
        )
        await self._outbox.start()

    async def serve(self) -> None:
        """Serve until stopped; raises if the session with the Seeker (or in LAN mode,
        the advert) fails for good."""
        serving = self._serving
        if serving is None:
            raise GiverError("start() the Giver before serving it")
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if serving.done() and not serving.cancelled():
            serving.result()

    async def stop(self) -> None:
        """Stop taking tasks, release those still running, withdraw the advert, close
        the session, kill and remove running containers, let outbox writes finish;
        safe to call twice."""
        if self._stopping.is_set():
            await self._stopped.wait()
            return
        self._stopping.set()
        try:
            await self._release_running()
            await self._reporter.stop()
            await _cancel(self._serving)
            if self._advertiser is not None:
                await self._advertiser.stop()
            if self._session is not None:
                await self._session.close()
            if self._listener is not None:
                await self._listener.stop()
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
            if self._control is not None:
                await self._control.stop()
            log.info("giver stopped")
        finally:
            self._recent.detach()
            self._stopped.set()

    async def drain(self) -> None:
        """Take no new tasks and give the running ones up to `drain_grace_s` to finish
        and their results to reach the Channel; `stop()` then releases what is left.
        Cancelling the drain ends it at once."""
        self._draining = True
        self._reporter.refresh_soon()
        running = len(self._tasks)
        log.info(
            "draining: no new tasks; %d running task(s) get up to %g s to finish",
            running,
            self.config.drain_grace_s,
        )
        try:
            async with asyncio.timeout(self.config.drain_grace_s):
                while self._tasks:
                    await asyncio.wait(list(self._tasks.values()))
                while self._outbox is not None and await self._outbox.pending():
                    self._delivered.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._delivered.wait(), DRAIN_POLL_S)
        except TimeoutError:
            log.info(
                "drain grace of %g s is over: releasing %d task(s) still running",
                self.config.drain_grace_s,
                len(self._busy),
            )
        except asyncio.CancelledError:
            log.info("stopping at once: releasing %d running task(s)", len(self._busy))
            raise

    async def pause(self) -> float:
        """Take no new tasks until `resume()`, also after a restart; when the pause began."""
        was_paused = self._paused_at is not None
        self._paused_at = await asyncio.to_thread(pause.pause, self.config.pause_path)
        if not was_paused:
            log.info(
                "paused by the volunteer: no new tasks; %d running task(s) go on", len(self._busy)
            )
        self._reporter.refresh_soon()
        return self._paused_at

    async def resume(self) -> bool:
        """Take tasks again (within the active hours); whether the Giver was paused."""
        was_paused = await asyncio.to_thread(pause.resume, self.config.pause_path)
        if self._paused_at is not None:
            log.info("resumed by the volunteer")
        self._paused_at = None
        self._reporter.refresh_soon()
        return was_paused

    async def idle_reason(self) -> str:
        """Why the Giver takes no tasks now, as a clause following its name; "" if it does."""
        if self._stopping.is_set() or self._draining:
            return STOPPING_CLAUSE
        if self._paused_at is not None:
            return PAUSED_CLAUSE
        reason = outside(self.config.active_hours, self._clock())
        if reason is None and self._outbox is not None and self._caps.disk_bytes is not None:
            reason = self._caps.disk_full((await self._outbox.stats()).bytes, 0)
        return (reason or "")[:MAX_LABEL_VALUE_CHARS]

    async def status(self) -> dict[str, Any]:
        """What `giver status` shows: see giver.status.document."""
        return status.document(
            giver_id=self._identity.id if self._identity is not None else "",
            config=self.config,
            session=self._session,
            paused_at=self._paused_at,
            idle=await self.idle_reason(),
            running=[
                status.RunningView(r.task.task_id, r.task.job_id, r.done, r.total, r.started_at)
                for r in self._busy.values()
            ],
            outbox=await self._outbox.stats() if self._outbox is not None else None,
            recent=self._recent.entries(),
            now=self._clock(),
        )

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
        capabilities = await self._current_capabilities()
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

    async def _introduce(self) -> Introduction:
        """What this Giver says first to a Seeker that dialled it: its registration,
        signed now with what this machine offers now."""
        assert self._identity is not None
        capabilities = await self._current_capabilities()
        body = signed_registration(
            self._identity,
            name=self.config.name,
            volunteer=self.config.volunteer,
            capabilities=capabilities,
        )
        return Introduction(body, partial(self._registered, capabilities=capabilities))

    async def _registered(self, registration: Registration, *, capabilities: Capabilities) -> None:
        """A Seeker that dialled this Giver took its registration: results go where it says."""
        self.registration = registration
        if not self._pin.saved:
            await asyncio.to_thread(self._pin.save)
        self._reporter.registered(capabilities)
        if self._channel is None:
            log.info(
                "registered with a Seeker that found this Giver; results go to %s",
                registration.channel_url,
            )
            await self._open_outbox(registration.channel_url)
        elif self._channel.url != registration.channel_url.rstrip("/"):
            log.info("results go to %s from now on", registration.channel_url)
            self._channel.move_to(registration.channel_url)

    async def _current_capabilities(self) -> Capabilities:
        """What this machine offers now, or as probed last if it cannot be probed again."""
        try:
            return await self._probe()
        except GiverError as e:
            if self.capabilities is None:
                raise
            log.warning("cannot probe this machine again (%s); registering as probed last", e)
            return self.capabilities

    def _check_challenge(self, challenge: Challenge) -> None:
        """The session's Seeker must name the key this Giver trusts."""
        self._pin.check(challenge.seeker_key, self.config.seeker_url or "that dialled this Giver")

    async def _probe(self) -> Capabilities:
        assert self._runner is not None
        machine = await probe(self._runner, slots=self.config.slots, labels=self.config.labels)
        self.capabilities = replace(self._caps.offered(machine), paused=await self.idle_reason())
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
        idle = await self.idle_reason()
        task = replace(message.task, limits=self._caps.clamp(message.task.limits))
        checked = await self._refusal(message, task)
        if self._stopping.is_set() or idle:
            # Checked after the awaits, so stop() either sees the task busy or it is
            # released here. Not refused: a refusal would keep this Giver off the
            # block, and fail the block if no other Giver is online.
            why = STOPPING_REASON if self._stopping.is_set() else f"this Giver {idle}"
            log.info("releasing task %s at once: %s", task.task_id, why)
            self._session.send(Release(task.task_id, why))
            self._reporter.refresh_soon()
            return
        if isinstance(checked, str):
            log.warning("refusing task %s: %s", task.task_id, checked)
            self._session.send(Refuse(task.task_id, checked))
            return
        self._busy[task.task_id] = Running(task, time.time())
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

    async def _refusal(self, message: Assign, task: Task) -> LocalImage | str:
        """The local image the assigned task (`task`: as the message says, its limits
        clamped to the caps) will run as, or why it cannot run here."""
        assert self._runner is not None
        if not message.signature:
            return "the task carries no signature of the Seeker"
        if not self._pin.key or not verify_value(
            self._pin.key, Assign.signed_value(self.id, message.task), message.signature
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
        running = [r.task.limits for r in self._busy.values()]
        over = self._caps.over(running, task.limits)
        if over is not None:
            return f"no room under the volunteer's {over}"
        if self._outbox is not None and self._caps.disk_bytes is not None:
            waiting = (await self._outbox.stats()).bytes
            full = self._caps.disk_full(waiting, len(running))
            if full is not None:
                return f"this Giver {full}"
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
            self._busy.pop(task_id, None)

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
            self._busy.pop(task.task_id, None)
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
        return await asyncio.to_thread(
            outputs.collect, workdir / "output", task, run, max_bytes=task.limits.output_bytes
        )

    def _on_progress(self, task_id: str, done: int, total: int) -> None:
        running = self._busy.get(task_id)
        if running is not None:
            running.done, running.total = done, total
        if self._session is not None:
            self._session.send(Progress(task_id, done, total))

    def _on_delivered(self, result: Result) -> None:
        self._delivered.set()
        if self._session is not None:
            self._session.send(Done(result.task_id, result.result_id))


async def _cancel(task: "asyncio.Task[None] | None") -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _remove_workdir(workdir: Path) -> None:
    try:
        outputs.remove_tree(workdir)
    except OSError as e:
        log.warning(
            "cannot remove all of %s (%s: a scraper left files it alone may delete)",
            workdir,
            e.strerror,
        )


def failed_output(task: Task, reason: str) -> outputs.ScraperOutput:
    """The output of a task that could not run: every key failed for `reason`."""
    return outputs.ScraperOutput(
        outcomes=[KeyOutcome(key, False, reason) for key in task.block], error=reason
    )
