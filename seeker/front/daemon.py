"""The front as a daemon: `start()` asks the Seekers who leads and listens,
`serve()` keeps asking until stopped, `stop()` closes what it relays."""

import asyncio
import logging
import socket

import aiohttp
from aiohttp import web

from channel.jsonweb import error_middleware, json_response
from channel.lifecycle import AsyncLifecycle
from seeker.front.config import FrontConfig
from seeker.front.forward import Forwarder, no_leader
from seeker.front.leader import LeaderWatch
from seeker.front.sockets import SocketRelay, is_upgrade
from seeker.startup import listen

log = logging.getLogger(__name__)

# A leader that does not take a connection within this is as good as gone; once
# connected, an answer may take as long as it takes (a stream may never end).
CONNECT_TIMEOUT_S = 5.0
SHUTDOWN_TIMEOUT_S = 5.0


class Front(AsyncLifecycle):
    """Listens on the configured address and forwards everything but its own
    `GET /healthz` to the Seeker that leads."""

    def __init__(self, config: FrontConfig) -> None:
        self.config = config
        self.url = ""
        self._http: aiohttp.ClientSession | None = None
        self._watch: LeaderWatch | None = None
        self._relay: SocketRelay | None = None
        self._forwarder: Forwarder | None = None
        self._runner: web.AppRunner | None = None
        self._watching: asyncio.Task[None] | None = None
        self._listening: list[socket.socket] = []

    async def _start(self) -> None:
        config = self.config
        self._listening = listen(config.host, config.port)
        self._http = http = aiohttp.ClientSession(
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S),
        )
        self._watch = watch = LeaderWatch(
            http, config.upstreams, config.check_interval_s, self._leader_changed
        )
        self._relay = relay = SocketRelay(http, watch)
        self._forwarder = forwarder = Forwarder(http, watch)

        async def forward(request: web.Request) -> web.StreamResponse:
            if is_upgrade(request):
                return await relay.handle(request)
            return await forwarder.handle(request)

        async def let_go(app: web.Application) -> None:
            self._leader_changed(watch.current, None)

        app = web.Application(middlewares=[error_middleware])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_route("*", "/{path:.*}", forward)
        app.on_shutdown.append(let_go)
        # Know the leader before the first request comes.
        await watch.recheck()
        # A client that goes away cancels its handler, which lets go of the leader's
        # answer at once: an open live feed, say, instead of at its next write.
        self._runner = web.AppRunner(
            app, shutdown_timeout=SHUTDOWN_TIMEOUT_S, handler_cancellation=True
        )
        await self._runner.setup()
        for sock in self._listening:
            await web.SockSite(self._runner, sock).start()
        host, port = self._listening[0].getsockname()[:2]
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        self._watching = asyncio.create_task(watch.run(), name="front-leader-watch")
        log.info(
            "front serving on %s for the Seekers at %s; leader %s",
            self.url,
            ", ".join(watch.upstreams),
            watch.current or "none yet",
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 `{"status": "ok", "leader": URL}` while a Seeker leads, else 503
        `no_leader`."""
        assert self._watch is not None
        leader = self._watch.current
        if leader is None:
            return no_leader()
        return json_response({"status": "ok", "leader": leader})

    def _leader_changed(self, old: str | None, new: str | None) -> None:
        """Let go of what is relayed from a Seeker that does not lead: its clients ask
        again, and reach `new`."""
        for part in (self._relay, self._forwarder):
            if part is not None:
                part.leader_changed(new)

    async def serve(self) -> None:
        """Keep asking who leads until stopped."""
        assert self._watching is not None, "start() first"
        await self._watching

    async def stop(self) -> None:
        """Stop listening, close the sessions relayed and the client; safe to call twice."""
        watching, self._watching = self._watching, None
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        if self._watch is not None:
            await self._watch.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        http, self._http = self._http, None
        if http is not None:
            await http.close()
        for sock in self._listening:
            sock.close()
