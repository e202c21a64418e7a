"""The Giver daemon: registers with a Seeker, runs the tasks it assigns, delivers results.

It dials the Seeker at its URL, or in LAN mode advertises itself over mDNS
and waits for a Seeker to dial it; either way one session carries the work
(giver.link.registrant).

Each task the Seeker assigns (giver.tasks.assignments) is checked first
(giver.tasks.checks: signed by the Seeker key this Giver trusts, its image present
and allowed, room under the volunteer's caps); otherwise the Seeker hears
`Refuse` with the reason. An image this Giver lacks is fetched from the Seeker
once the task is accepted (giver.sandbox.delivery); if it cannot be had the task is
refused after all, or released when the fetch failed for now. An accepted
task runs as a container (giver.tasks.execution), with no network of its own: a
task that needs one goes out through the egress gateway (giver.egress), which
enforces the volunteer's rules on hosts, addresses and traffic; `network:
host` runs only where the volunteer allows it, and while a traffic cap is
reached the Seeker hears that this Giver takes no task that needs the
network. Its output becomes a signed Result that goes to the outbox first,
then to the Channel, and once the Channel has acknowledged it the Seeker
hears `Done`. A task that fails yields a Result with an error; it never stops
the Giver. A Giver that stops releases the tasks still running,
so the Seeker can give them to another Giver at once instead of waiting for
their leases to lapse. What the Giver offers is probed again after every task
and every `report_interval_s`; the Seeker hears of changes in a `Report`.

The volunteer's controls (giver.controls.volunteer): a pause and active hours (no new
tasks; running ones go on; a task assigned meanwhile is released back), and
`drain()` before `stop()`.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp

from channel.lifecycle import AsyncLifecycle
from channel.service.client import ChannelClient
from channel.wire.givers import Capabilities
from channel.wire.identity import Identity
from channel.wire.messages import (
    Assign,
    Cancel,
    Diagnose,
    Done,
    Message,
    Release,
)
from channel.wire.results import Result
from giver.controls import pause, status
from giver.controls.control import ControlServer
from giver.controls.volunteer import VolunteerControls
from giver.egress.forwarding import Forwarder
from giver.egress.gateway import Gateway
from giver.egress.ledger import Ledger
from giver.egress.traffic import Traffic
from giver.errors import GiverError
from giver.link.advertiser import Advertiser
from giver.link.listener import Listener
from giver.link.outbox import Outbox
from giver.link.registrant import Registrant
from giver.link.registration import Registration
from giver.link.reporter import Reporter
from giver.link.session import Session
from giver.sandbox import fetched
from giver.sandbox.delivery import Deliveries
from giver.sandbox.diagnosis import diagnose
from giver.sandbox.docker_runner import DockerRunner
from giver.sandbox.fetched import FetchedImages
from giver.sandbox.images import ImagePolicy
from giver.sandbox.runner import ConnectRunner, Runner
from giver.tasks import execution
from giver.tasks.assignments import STOPPING_REASON, Assignments
from giver.tasks.checks import TaskChecks
from giver.tasks.execution import Running
from giver.terms.capacity import Caps
from giver.terms.config import GiverConfig
from giver.terms.pinning import SeekerKeyPin

log = logging.getLogger(__name__)

# No total limit (a result may be large); a dead peer shows as a connect or read timeout.
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=120.0)
# How long stop() waits for its releases to be written before closing the session.
RELEASE_DRAIN_TIMEOUT_S = 2.0
# How often a task waiting for its image from the Seeker keeps its lease alive.
DELIVERY_HEARTBEAT_S = 10.0


class Giver(VolunteerControls, Registrant, Assignments, AsyncLifecycle):
    """The daemon: `start()`, `serve()`, `stop()`, or `async with Giver(config)`.

    `clock()` is the local time that active hours are checked against;
    `connect_runner` gets what runs its tasks (the Docker Engine unless told).
    """

    def __init__(
        self,
        config: GiverConfig,
        *,
        clock: Callable[[], datetime] = datetime.now,
        connect_runner: ConnectRunner = DockerRunner.connect,
    ) -> None:
        self.config = config
        self._clock = clock
        self._connect_runner = connect_runner
        self._caps = Caps(config.cpus_cap, config.memory_cap_bytes, config.disk_cap_bytes)
        self._traffic = Traffic(
            config.traffic_path,
            day_cap=config.traffic_day_bytes,
            month_cap=config.traffic_month_bytes,
            up_rate=config.upload_rate_bytes,
            down_rate=config.download_rate_bytes,
            clock=clock,
        )
        self._ledger = Ledger(config.data_dir)
        self._gateway = Gateway(
            config.egress_dir, Forwarder(config.egress_rules, self._traffic, self._ledger)
        )
        self.capabilities: Capabilities | None = None
        self.registration: Registration | None = None
        self.refusal = ""
        self._using: dict[str, str] = {}
        self._fetched: FetchedImages | None = None
        self._identity: Identity | None = None
        self._runner: Runner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._outbox: Outbox | None = None
        self._channel: ChannelClient | None = None
        self._deliveries: Deliveries | None = None
        self._session: Session | None = None
        self._listener: Listener | None = None
        self._advertiser: Advertiser | None = None
        # Dials the Seeker, or in LAN mode follows this machine's addresses.
        self._serving: asyncio.Task[None] | None = None
        self._reporter = Reporter(self._probe, self._send, interval_s=config.report_interval_s)
        self._pin = SeekerKeyPin(config.seeker_key, config.seeker_key_path)
        self._policy = ImagePolicy(config.allowed_images)
        self._checks = TaskChecks(
            self._pin, self._caps, self._policy, config.slots, config.allow_host_network
        )
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Tasks holding a slot: from acceptance until their container is gone (and
        # their result is about to go to the outbox); stop() releases these.
        self._busy: dict[str, Running] = {}
        # Tasks released while their container ran: what they leave is not delivered,
        # since the Seeker gives their keys to another Giver.
        self._released: set[str] = set()
        # Answers to the Seeker's Diagnose messages being worked out.
        self._diagnoses: set[asyncio.Task[None]] = set()
        self._paused_at: float | None = None
        self._draining = False
        self._delivered = asyncio.Event()
        self._recent = status.RecentErrors()
        self._control: ControlServer | None = None
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()

    async def _start(self) -> None:
        """Load the identity, connect the runner (check Docker), then register and dial
        the Seeker (opening the outbox), or in LAN mode listen and advertise."""
        config = self.config
        self._recent.attach()
        self._identity = await asyncio.to_thread(Identity.load_or_create, config.identity_path)
        await asyncio.to_thread(self._pin.load)
        self._paused_at = await asyncio.to_thread(pause.paused_since, config.pause_path)
        self._control = ControlServer(config.control_path, self)
        await self._control.start()
        await asyncio.to_thread(self._traffic.load)
        await asyncio.to_thread(self._ledger.open)
        await asyncio.to_thread(self._gateway.start)
        self._runner = await self._connect_runner(
            self.id,
            progress_interval_s=config.progress_interval_s,
            max_pool_size=2 * config.slots + 4,
        )
        left = await self._runner.remove_leftovers()
        if left:
            log.warning("removed %d container(s) left by a previous run", left)
        await asyncio.to_thread(execution.remove_workdir, config.work_dir)
        await asyncio.to_thread(execution.remove_workdir, config.image_dir)
        self._fetched = FetchedImages(
            config.data_dir / fetched.LIST_FILE, self._runner.remove_image, self._images_in_use
        )
        await self._fetched.open()
        self._http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        self._deliveries = Deliveries(
            self._runner,
            self._policy,
            self._identity,
            self._http,
            config.image_dir,
            max_bytes=config.max_image_bytes,
            seeker_url=lambda: self.registration.seeker_url if self.registration else "",
            room=self._disk_room,
            heartbeat_s=DELIVERY_HEARTBEAT_S,
            traffic=self._traffic,
            fetched=self._fetched,
        )
        self._session = Session(
            self._identity,
            on_message=self._on_message,
            on_challenge=self._check_challenge,
            on_open=self._reporter.session_opened,
        )
        if config.lan:
            await self._start_lan()
        else:
            await self._start_dialling()
        self._reporter.start()
        assert self.capabilities is not None
        log.info(
            "giver %s (%s) started: %d slot(s), %d CPU(s), %d MiB, %s/%s, Docker %s, "
            "%d allowed scraper image(s) here; trusts Seeker key %s; %s; scrapers reach %s "
            "through the egress gateway%s",
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
            self._policy.stated(config.max_image_bytes),
            config.egress_rules.stated(),
            ", or the host's network if a job asks" if config.allow_host_network else "",
        )
        if self.capabilities.paused:
            log.info("giver takes no tasks for now: it %s", self.capabilities.paused)

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
            workers = [*self._tasks.values(), *self._diagnoses]
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if self._deliveries is not None:
                await self._deliveries.close()
            if self._outbox is not None:
                await self._outbox.stop()
            await self._gateway.stop()
            await asyncio.to_thread(self._traffic.save)
            await asyncio.to_thread(self._ledger.close)
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
        self._released.update(released)
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

    def _send(self, message: Message) -> bool:
        return self._session is not None and self._session.send(message)

    async def _on_message(self, message: Message) -> None:
        if isinstance(message, Assign):
            await self._assign(message)
        elif isinstance(message, Cancel):
            self._cancel(message.task_id)
        elif isinstance(message, Diagnose):
            answering = asyncio.create_task(self._diagnose(message.nonce), name="giver-diagnose")
            self._diagnoses.add(answering)
            answering.add_done_callback(self._diagnoses.discard)
        else:
            log.warning("ignoring an unexpected %s message from the Seeker", message.TYPE)

    async def _diagnose(self, nonce: str) -> None:
        """Tell the Seeker how the Docker Engine is doing; in a task of its own, so the
        session reads on while the Engine is asked."""
        assert self._runner is not None
        self._send(await diagnose(self._runner, nonce))

    def _on_delivered(self, result: Result) -> None:
        self._delivered.set()
        if self._session is not None:
            self._session.send(Done(result.task_id, result.result_id))


async def _cancel(task: "asyncio.Task[None] | None") -> None:
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
