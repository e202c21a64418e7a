"""The Seeker daemon: API, the in-process Channel service, its state and the coordinator."""

import asyncio
import logging
import shutil
import time

from aiohttp import web

from channel.base import Channel
from channel.factory import open_channel
from channel.lifecycle import AsyncLifecycle
from channel.service import make_app as make_channel_app
from seeker.api import make_api
from seeker.config import SeekerConfig
from seeker.coordinator import Coordinator
from seeker.givers import GiverRegistry
from seeker.state.base import StateStore
from seeker.state.factory import open_state
from seeker.work import KeyManager

log = logging.getLogger(__name__)


class Seeker(AsyncLifecycle):
    """Serves the API under /api/v1 and the Channel under /channel."""

    def __init__(self, config: SeekerConfig) -> None:
        self.config = config
        self.coordinator: Coordinator | None = None
        self._channel: Channel | None = None
        self._state: StateStore | None = None
        self._runner: web.AppRunner | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.url = ""

    async def _start(self) -> None:
        """Open the stores, load the jobs, listen and start coordinating."""
        config = self.config
        await asyncio.to_thread(shutil.rmtree, config.scratch_dir, ignore_errors=True)
        self._channel = await open_channel(config.channel_store_url)
        self._state = await open_state(config.seeker_state_url)
        keys = KeyManager(self._state, self._channel, lease_grace_s=config.lease_grace_s)
        await keys.load(time.time())
        givers = GiverRegistry()
        self.coordinator = Coordinator(keys, givers, poll_interval_s=config.poll_interval_s)
        app = web.Application()
        app.add_subapp("/api/v1/", make_api(config, self._channel, givers, self.coordinator))
        app.add_subapp("/channel/", make_channel_app(self._channel))
        self._runner = web.AppRunner(app, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, config.host, config.port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._loop_task = asyncio.create_task(self.coordinator.run(), name="coordinator")
        log.info(
            "seeker serving on %s (state %s, results %s)",
            self.url,
            config.seeker_state_url,
            config.channel_store_url,
        )

    @property
    def channel(self) -> Channel:
        """The Channel this Seeker collects results from (after start)."""
        if self._channel is None:
            raise RuntimeError("the Seeker is not started")
        return self._channel

    async def serve(self) -> None:
        """Run until stopped; a failure of the coordinator ends serving."""
        assert self._loop_task is not None, "start() first"
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({self._loop_task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if self._loop_task.done() and not self._loop_task.cancelled():
            self._loop_task.result()

    async def stop(self) -> None:
        """Stop serving and release everything; safe to call twice."""
        self._stopped.set()
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()
        state, self._state = self._state, None
        if state is not None:
            await state.close()
