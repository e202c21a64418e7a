"""Who leads: every Seeker behind the front is asked `GET /api/v1/leader` (200 on
the leader, 503 on one standing by), all at once, each check interval and
whenever a request finds the chosen one standing by."""

import asyncio
import logging
from collections.abc import Callable, Sequence

import aiohttp

log = logging.getLogger(__name__)

LEADER_PATH = "/api/v1/leader"
# Longer than a Seeker on a loaded machine takes to answer, shorter than a takeover.
CHECK_TIMEOUT_S = 2.0


def choose(current: str | None, leading: Sequence[str], slow: Sequence[str] = ()) -> str | None:
    """The upstream to forward to, given those that answered as leader (in order of
    preference) and those too slow to answer at all: the current one while it still
    leads, so that a short overlap of two leases moves nothing, or while it is only
    slow and no other leads, since a busy leader is still the leader; else the first
    that leads; None if none does."""
    if current is not None and (current in leading or (current in slow and not leading)):
        return current
    return leading[0] if leading else None


class LeaderWatch:
    """The upstream that leads as far as the last check knows (`current`), checked by
    `run()` every `interval_s` and on demand by `recheck()`. `on_change(old, new)`
    is called when the choice changes, after `current` has."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        upstreams: Sequence[str],
        interval_s: float,
        on_change: Callable[[str | None, str | None], None],
    ) -> None:
        self.upstreams = tuple(url.rstrip("/") for url in upstreams)
        self.current: str | None = None
        self._http = http
        self._interval_s = interval_s
        self._on_change = on_change
        self._checking: asyncio.Task[None] | None = None
        self._unreachable: set[str] = set()

    async def run(self) -> None:
        """Check every interval until cancelled (the first check is the caller's)."""
        while True:
            await asyncio.sleep(self._interval_s)
            await self.recheck()

    async def recheck(self) -> str | None:
        """Ask every upstream now (or join a check under way); the upstream chosen."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check(), name="front-leader-check")
        await asyncio.shield(self._checking)
        return self.current

    async def stop(self) -> None:
        checking, self._checking = self._checking, None
        if checking is not None:
            checking.cancel()
            await asyncio.gather(checking, return_exceptions=True)

    async def _check(self) -> None:
        answers = await asyncio.gather(*(self._leads(url) for url in self.upstreams))
        asked = list(zip(self.upstreams, answers, strict=True))
        leading = [url for url, leads in asked if leads]
        slow = [url for url, leads in asked if leads is None]
        old, self.current = self.current, choose(self.current, leading, slow)
        if self.current != old:
            log.info("leader: %s -> %s", old or "none", self.current or "none")
            self._on_change(old, self.current)

    async def _leads(self, url: str) -> bool | None:
        """Whether the Seeker at `url` answers as leader; None if it did not answer in
        time. One that cannot be reached is logged once at warning until it answers
        again."""
        try:
            async with self._http.get(
                url + LEADER_PATH, timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
            ) as response:
                await response.read()
                leads = response.status == 200
        except (aiohttp.ClientError, TimeoutError) as e:
            level = logging.DEBUG if url in self._unreachable else logging.WARNING
            self._unreachable.add(url)
            reason = str(e) or type(e).__name__
            log.log(level, "cannot ask the Seeker at %s who leads: %s", url, reason)
            return None if isinstance(e, TimeoutError) else False
        if url in self._unreachable:
            self._unreachable.discard(url)
            log.info("the Seeker at %s answers now", url)
        return leads
