"""The shape every daemon shares, and running one until a signal.

A daemon has `start()`, `serve()` (returns when the daemon is done or has
failed) and `stop()` (idempotent). SIGINT or SIGTERM asks it to stop
gracefully, also while it is still starting (`start()` is cancelled and must
clean up after itself); a second signal exits at once. A daemon that can
drain (let work in progress finish before it stops) is drained first, and a
second signal then cancels the drain so that `stop()` runs at once; only a
third exits without stopping.

Once a daemon has started, what start-up made (modules, settings, jobs loaded)
is moved out of the cycle collector's walks, and young objects are collected
less often, so that the many objects a request holds for a moment die young
instead of filling the oldest generation, whose full collections walk the whole
heap with the event loop stopped (measured in `bench/load.py`).

May import: nothing.
"""

import asyncio
import gc
import logging
import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, Self

log = logging.getLogger(__name__)
FORCED_EXIT_CODE = 130
# Net allocations of tracked objects between young collections (Python's default: 700).
YOUNG_COLLECTION_EVERY = 10_000


class Daemon(Protocol):
    async def start(self) -> None: ...
    async def serve(self) -> None: ...
    async def stop(self) -> None: ...


def configure_logging(verbose: bool) -> None:
    """Log to stderr for a CLI: debug with `verbose`, else info without access logs."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class AsyncLifecycle(ABC):
    """Start and stop, also as `async with`; a start that fails undoes itself.

    Subclasses implement `_start()` and an idempotent `stop()` that releases
    whatever `_start()` got to before it failed or was cancelled.
    """

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    @abstractmethod
    async def _start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def run_until_signal(
    daemon: Daemon, *, drain: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Start `daemon`, serve until it ends or a signal arrives, then stop it; after
    a signal, `drain()` it first if given."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    draining: asyncio.Future[None] | None = None

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if draining is not None and not draining.done() and not draining.cancelled():
            log.warning("second %s: stopping at once (send it again to exit now)", name)
            draining.cancel()
            return
        if stopping.is_set():
            log.warning("%s again: exiting now", name)
            os._exit(FORCED_EXIT_CODE)
        log.info("%s: stopping (send it again to stop at once)", name)
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        if await _until_stopping(daemon.start(), stopping):
            settle_heap()
            try:
                served = await _until_stopping(daemon.serve(), stopping)
                if not served and drain is not None:
                    draining = asyncio.ensure_future(drain())
                    await asyncio.wait([draining])
                    if not draining.cancelled():
                        draining.result()
            finally:
                await daemon.stop()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def settle_heap() -> None:
    """Freeze what exists now out of the cycle collector's walks, and collect young
    objects every YOUNG_COLLECTION_EVERY allocations; for a whole daemon process."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, oldest)


async def _until_stopping(work: Coroutine[Any, Any, None], stopping: asyncio.Event) -> bool:
    """Run `work` until it ends or `stopping` is set; whether it ended by itself.

    An exception from `work` propagates; if stopping comes first, `work` is
    cancelled and awaited.
    """
    running = asyncio.ensure_future(work)
    waiting = asyncio.ensure_future(stopping.wait())
    done, _ = await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if running in done:
        running.result()
        return True
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    return False
