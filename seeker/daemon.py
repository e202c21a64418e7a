"""The Seeker daemon: API, admin pages, the in-process Channel service, its state and
the coordinator; with `discover`, the leader also finds Givers on the LAN and dials
them.

May import: seeker.errors, seeker.config, seeker.startup, seeker.state, seeker.work,
seeker.catalog, seeker.access, seeker.grid, seeker.schedules, seeker.views, seeker.api,
seeker.pages, seeker.admin, channel.
"""

import asyncio
import logging
import shutil
import socket
import time
from urllib.parse import urljoin

from aiohttp import web

from channel.jsonweb import error_middleware
from channel.lifecycle import AsyncLifecycle
from channel.service.app import make_app as make_channel_app
from channel.store.base import Channel
from channel.store.factory import open_channel
from seeker.access.auth import PUBLIC_ROUTES, is_public, operator_auth, public_routes
from seeker.access.forwarded import forwarded_middleware, networks
from seeker.access.operators import Operators
from seeker.admin.app import make_admin, refuse_page, root_redirect
from seeker.api.app import MAX_BODY_BYTES, make_api
from seeker.api.health import add_liveness_route, add_metrics_route
from seeker.api.parts import PARTS, Parts
from seeker.catalog.archives import ImageArchives
from seeker.catalog.images import DockerImages
from seeker.catalog.store import Catalog
from seeker.config import SeekerConfig
from seeker.grid.admission import Admissions
from seeker.grid.coordinator import Coordinator, Watch
from seeker.grid.lan import Discovery
from seeker.grid.leader import Leadership, instance_id
from seeker.grid.registry import GiverRegistry, Registrar
from seeker.grid.sessions import Sessions
from seeker.grid.signing import seeker_identity
from seeker.grid.trust import TrustBook
from seeker.pages.docs import add_docs_routes
from seeker.pages.explorer import add_explorer_routes
from seeker.schedules.firing import Clock, PeriodicJobs
from seeker.startup import DataDir, listen
from seeker.state.base import Leader, StateStore
from seeker.state.factory import open_state
from seeker.views.health import Services, without_secrets
from seeker.views.lag import LoopLag
from seeker.work.manager import KeyManager

log = logging.getLogger(__name__)

# Results Givers post to this Seeker stay parsed for the coordinator to count, up to
# this many bytes of records: some seconds of results at hundreds a second.
KEPT_RESULT_BYTES = 8 * 1024 * 1024


class Seeker(AsyncLifecycle):
    """Serves the API under /api/v1 (its explorer at /api), the Channel under
    /channel, the admin pages under /admin/ and the docs under /docs; schedules while
    it holds the leader lease, and fires the schedules of periodic jobs.

    `clock` is the wall clock schedules fire by (tests pass one they move)."""

    def __init__(self, config: SeekerConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.coordinator: Coordinator | None = None
        self.periodic: PeriodicJobs | None = None
        self._clock = clock or Clock()
        self.leadership: Leadership | None = None
        self._channel: Channel | None = None
        self._state: StateStore | None = None
        self._images = DockerImages()
        self._givers = GiverRegistry()
        self._sessions: Sessions | None = None
        self.discovery: Discovery | None = None
        self._sockets: list[socket.socket] = []
        self._data_dir = DataDir(config.data_dir)
        self._runner: web.AppRunner | None = None
        # The JSON API app mounted at /api/v1 (after start).
        self.api: web.Application | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._lead_task: asyncio.Task[None] | None = None
        self._schedule_task: asyncio.Task[None] | None = None
        # How late the loop runs (for /metrics), probed from start() to stop().
        self.loop_lag = LoopLag()
        self._lag_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.url = ""

    async def _start(self) -> None:
        """Take the port and the data dir, open the stores, serve, and lead (loading the
        jobs) or stand by."""
        config = self.config
        self._sockets = await asyncio.to_thread(listen, config.host, config.port)
        host, port = self._sockets[0].getsockname()[:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        await asyncio.to_thread(self._data_dir.claim)
        await asyncio.to_thread(shutil.rmtree, config.scratch_dir, ignore_errors=True)
        holder = await asyncio.to_thread(instance_id, config.instance_path)
        self._channel = await open_channel(config.channel_store_url)
        self._channel.keep_results(KEPT_RESULT_BYTES)
        self._state = await open_state(config.seeker_state_url)
        identity = await seeker_identity(self._state)
        keys = KeyManager(self._state, self._channel, lease_grace_s=config.lease_grace_s)
        self.coordinator = Coordinator(
            keys,
            self._givers,
            TrustBook(flag_after=config.flag_after),
            identity=identity,
            poll_interval_s=config.poll_interval_s,
            watch=Watch(config.purge_after, config.contact_interval_s, config.tail_copies),
        )
        catalog = Catalog(
            self._state, self._images, ImageArchives(config.archive_dir, self._images)
        )
        self.periodic = PeriodicJobs(
            self._state,
            self.coordinator,
            catalog,
            scratch_dir=config.scratch_dir,
            clock=self._clock,
        )
        admissions = Admissions(self._state, open_registration=config.open_registration)
        registrar = Registrar(
            self._channel,
            self._givers,
            admissions,
            max_skew_s=config.registration_skew_s,
            min_giver_version=config.min_giver_version,
        )
        self._sessions = Sessions(registrar, self.coordinator)
        operators = Operators(self._state, fixed_token=config.operator_token)
        await operators.ensure_token_file(config.operator_token_path, time.time())
        services = Services(
            self._state,
            self._channel,
            self._images,
            self._givers,
            channel_url=config.channel_url,
        )
        parts = Parts(
            config,
            self.coordinator,
            self._sessions,
            admissions,
            catalog,
            self.periodic,
            operators,
            services,
            self._leader,
            self.loop_lag,
        )
        self.api = api = make_api(parts)

        def public(request: web.Request) -> bool:
            # The Channel checks who is asking by itself: Givers' signatures, reader tokens.
            if channel in request.match_info.apps:
                return True
            return any(is_public(part, request) for part in (app, api, admin))

        app = web.Application(
            middlewares=[
                forwarded_middleware(networks(config.trusted_fronts)),
                error_middleware,
                operator_auth(operators, public=public, refuse=refuse_page),
            ],
            client_max_size=MAX_BODY_BYTES,
        )
        app[PARTS] = parts
        app.add_subapp("/api/v1/", api)
        channel = make_channel_app(self._channel)
        app.add_subapp("/channel/", channel)
        add_metrics_route(app)
        admin = make_admin(parts)
        app.add_subapp("/admin/", admin)
        app[PUBLIC_ROUTES] = public_routes(
            [
                add_liveness_route(app),
                app.router.add_get("/", root_redirect),
                *add_explorer_routes(app),
                *add_docs_routes(app, config.docs_dir),
            ]
        )
        self._runner = web.AppRunner(app, shutdown_timeout=5.0)
        await self._runner.setup()
        self.leadership = Leadership(
            self._state,
            holder,
            config.public_url or self.url,
            config.leader_lease_s,
            promote=self._promote,
            demote=self._demote,
        )
        # Lead or stand by before serving: the first requests get a Seeker that knows.
        await self.leadership.attempt()
        for sock in self._sockets:
            await web.SockSite(self._runner, sock).start()
        self._lead_task = asyncio.create_task(self.leadership.run(), name="leader-lease")
        self._lag_task = asyncio.create_task(self.loop_lag.run(), name="loop-lag")
        log.info(
            "seeker %s serving on %s (state %s, results %s; signs tasks with key %s; %s)%s",
            holder,
            self.url,
            without_secrets(config.seeker_state_url),
            without_secrets(config.channel_store_url),
            identity.public_key,
            "open registration" if config.open_registration else "admission by token or approval",
            "" if self.leadership.leading else "; standing by",
        )
        base = config.public_url.rstrip("/") or self.url
        log.info("admin pages at %s/admin/, API explorer at %s/api, docs at %s/docs", *[base] * 3)

    def _leader(self) -> Leader | None:
        """None while this Seeker leads; else who does, as far as it knows."""
        leadership = self.leadership
        if leadership is not None and leadership.leading:
            return None
        return leadership.current if leadership is not None else Leader("", "", 0.0)

    async def _promote(self) -> None:
        """Took the lease: load every job from the store, start scheduling and firing
        schedules."""
        coordinator, state, periodic = self.coordinator, self._state, self.periodic
        assert coordinator is not None and state is not None and periodic is not None
        coordinator.keys.reset()
        await coordinator.keys.load(time.time())
        coordinator.trust.load(await state.givers())
        self._loop_task = asyncio.create_task(coordinator.run(), name="coordinator")
        self._schedule_task = asyncio.create_task(periodic.run(), name="schedules")
        if self.config.discover:
            await self._discover()

    async def _discover(self) -> None:
        """Find Givers on the LAN and dial them."""
        assert self._sessions is not None
        config = self.config
        self.discovery = Discovery(
            self._sessions,
            interfaces=config.discover_interfaces,
            urls=self._urls_from,
            reconnect_max_s=config.discover_reconnect_max_s,
        )
        await self.discovery.start()

    def _urls_from(self, local_address: str) -> tuple[str, str]:
        """The absolute URLs of this Seeker and of the Channel for a Giver this Seeker
        dialled from `local_address`."""
        host = f"[{local_address}]" if ":" in local_address else local_address
        base = self.config.public_url or f"http://{host}:{self._sockets[0].getsockname()[1]}"
        base = base.rstrip("/")
        return base, urljoin(base + "/", self.config.channel_url or "channel")

    async def _demote(self) -> None:
        """Lost the lease: stop firing schedules, scheduling and dialling at once and
        let Givers find the leader."""
        for name in ("_schedule_task", "_loop_task"):
            task = getattr(self, name)
            setattr(self, name, None)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self._stop_discovery()
        if self._sessions is not None:
            await self._sessions.close_all()
        if self.coordinator is not None:
            self.coordinator.keys.reset()

    async def _stop_discovery(self) -> None:
        discovery, self.discovery = self.discovery, None
        if discovery is not None:
            await discovery.stop()

    @property
    def channel(self) -> Channel:
        """The Channel this Seeker collects results from (after start)."""
        if self._channel is None:
            raise RuntimeError("the Seeker is not started")
        return self._channel

    async def serve(self) -> None:
        """Run until stopped; a failure of the lease loop ends serving."""
        lead = self._lead_task
        assert lead is not None, "start() first"
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({lead, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if lead.done() and not lead.cancelled():
            lead.result()

    async def stop(self) -> None:
        """Stop serving and release everything; safe to call twice."""
        self._stopped.set()
        for name in ("_lead_task", "_schedule_task", "_loop_task", "_lag_task"):
            task = getattr(self, name)
            setattr(self, name, None)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self._stop_discovery()
        if self.coordinator is not None and self._state is not None:
            try:
                await self.coordinator.flush_trust()
            except Exception as e:
                log.warning("cannot write the Givers' records: %s", e)
        if self.leadership is not None:
            await self.leadership.release()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        for sock in self._sockets:
            sock.close()
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()
        state, self._state = self._state, None
        if state is not None:
            await state.close()
        await self._images.close()
        self._data_dir.release()
