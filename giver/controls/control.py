"""The control socket: how `giver pause`, `giver resume` and `giver status` reach the
running daemon from another terminal.

A small aiohttp app on a unix socket in the data dir, readable and writable by
its owner only: GET /status, POST /pause, POST /resume, each answering JSON.
"""

import logging
import os
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from channel.errors import WireError
from channel.lifecycle import AsyncLifecycle
from channel.wire import canonical
from giver.errors import ControlError, NotRunning

log = logging.getLogger(__name__)

# AF_UNIX paths hold at most 107 bytes on Linux.
MAX_SOCKET_PATH = 107
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=30)


class Controls(Protocol):
    """What the control socket drives: the Giver daemon."""

    async def pause(self) -> float: ...
    async def resume(self) -> bool: ...
    async def status(self) -> dict[str, Any]: ...


CONTROLS = web.AppKey("controls", Controls)


def _json(body: dict[str, Any]) -> web.Response:
    return web.Response(body=canonical.dumps(body), content_type="application/json")


async def _status(request: web.Request) -> web.Response:
    return _json(await request.app[CONTROLS].status())


async def _pause(request: web.Request) -> web.Response:
    return _json({"paused_since": await request.app[CONTROLS].pause()})


async def _resume(request: web.Request) -> web.Response:
    return _json({"was_paused": await request.app[CONTROLS].resume()})


class ControlServer(AsyncLifecycle):
    """Serves `controls` on the unix socket at `path`; `start()`, then `stop()`."""

    def __init__(self, path: Path, controls: Controls) -> None:
        self.path = path
        self._controls = controls
        self._runner: web.AppRunner | None = None

    async def _start(self) -> None:
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
            raise ControlError(
                f"the control socket path {self.path} is longer than {MAX_SOCKET_PATH} "
                "bytes; choose a shorter --data-dir"
            )
        app = web.Application()
        app[CONTROLS] = self._controls
        app.router.add_get("/status", _status)
        app.router.add_post("/pause", _pause)
        app.router.add_post("/resume", _resume)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if await _answers(self.path):
            raise ControlError(f"another giver already runs with the data dir {self.path.parent}")
        await web.UnixSite(self._runner, str(self.path)).start()
        os.chmod(self.path, 0o600)
        log.debug("control socket at %s", self.path)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


async def call(path: Path, method: str, route: str) -> dict[str, Any]:
    """The running daemon's answer to `method route`; NotRunning if none answers."""
    try:
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=str(path)), timeout=CLIENT_TIMEOUT
            ) as http,
            http.request(method, f"http://giver{route}") as response,
        ):
            if response.status != 200:
                raise ControlError(
                    f"the Giver answered {response.status} to {method} {route}: "
                    f"{(await response.text())[:200]}"
                )
            body = canonical.loads(await response.read())
    except aiohttp.ClientConnectorError as e:
        raise NotRunning(path) from e
    except (aiohttp.ClientError, WireError) as e:
        raise ControlError(f"cannot talk to the Giver through {path}: {e}") from e
    if not isinstance(body, dict):
        raise ControlError(f"the Giver answered {method} {route} with something not an object")
    return body


async def _answers(path: Path) -> bool:
    """Whether a daemon answers on the socket at `path` (a stale socket does not)."""
    try:
        await call(path, "GET", "/status")
    except (NotRunning, ControlError):
        return False
    return True
