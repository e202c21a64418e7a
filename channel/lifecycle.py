"""The shape every daemon shares, and running one until a signal.

A daemon has `start()`, `serve()` (returns when the daemon is done or has
failed) and `stop()` (idempotent). SIGINT or SIGTERM asks it to stop
gracefully; a second signal exits at once.
"""

import asyncio
import logging
import os
import signal
from typing import Protocol

log = logging.getLogger(__name__)
FORCED_EXIT_CODE = 130


class Daemon(Protocol):
    async def start(self) -> None: ...
    async def serve(self) -> None: ...
    async def stop(self) -> None: ...


async def run_until_signal(daemon: Daemon) -> None:
    """Start `daemon`, serve until it ends or a signal arrives, then stop it."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stopping.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            os._exit(FORCED_EXIT_CODE)
        log.info("%s: stopping (send it again to exit at once)", signal.Signals(signum).name)
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await daemon.start()
        try:
            serving = asyncio.ensure_future(daemon.serve())
            waiting = asyncio.ensure_future(stopping.wait())
            done, _ = await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if serving in done:
                serving.result()
            else:
                serving.cancel()
                await asyncio.gather(serving, return_exceptions=True)
        finally:
            await daemon.stop()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
