"""Where a Seeker that found this Giver on the LAN dials it: a WebSocket endpoint.

Each connection is the same session a Giver that dials the Seeker opens
(giver/link/session.py), with this Giver's signed registration said first. One
session at a time: a newer one replaces the one open.
"""

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from channel.lifecycle import AsyncLifecycle
from channel.wire.lan import SESSION_PATH
from giver.errors import GiverError, SeekerProtocolError
from giver.link.session import HEARTBEAT_S, REPLACED_CLOSE_TIMEOUT_S, Introduction, Session

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 2.0


class Listener(AsyncLifecycle):
    """Serves sessions to Seekers on `host`:`port` (0: any free port; `port` tells
    which once started)."""

    def __init__(
        self,
        session: Session,
        host: str,
        port: int,
        *,
        introduce: Callable[[], Awaitable[Introduction]],
    ) -> None:
        self.host = host
        self.port = port
        self._session = session
        self._introduce = introduce
        self._runner: web.AppRunner | None = None

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get(SESSION_PATH, self._dialled)
        self._runner = web.AppRunner(
            app, shutdown_timeout=SHUTDOWN_TIMEOUT_S, handle_signals=False, access_log=None
        )
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as e:
            raise GiverError(f"cannot listen on {self.host}:{self.port}: {e}") from e
        self.port = self._runner.addresses[0][1]
        log.info("waiting for a Seeker to dial %s:%d", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _dialled(self, request: web.Request) -> web.WebSocketResponse:
        peer = request.remote or "?"
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, timeout=REPLACED_CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        try:
            await self._session.converse(ws, peer, await self._introduce())
        except (SeekerProtocolError, TimeoutError) as e:
            log.warning("session with the Seeker at %s failed: %s", peer, e or "timed out")
            await ws.close(code=4002, message=b"protocol error")
            return ws
        log.info("session with the Seeker at %s closed", peer)
        return ws
