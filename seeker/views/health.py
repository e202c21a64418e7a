"""Liveness, and diagnostics of every service the Seeker depends on.

`GET /healthz` (on the root app, public) answers while the process serves and
says whether it leads or stands by; it touches no store. `GET
/api/v1/diagnostics` checks, all at once and each within CHECK_TIMEOUT_S, the
Seeker's state store, the Channel's store (and the Channel service over HTTP
when `channel_url` names one of its own), the Seeker's Docker Engine, and the
Docker Engine of every Giver online, which the Giver checks when asked over its
session. Each check says how long its service took to answer, or why it
failed: one line, no credentials.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from channel.errors import ChannelError
from channel.jsonweb import read_error
from channel.store.base import Channel
from channel.store.factory import without_secrets as without_secrets
from seeker.catalog.images import DockerImages
from seeker.errors import SeekerError, ServiceUnavailable
from seeker.grid.registry import GiverEntry, GiverRegistry
from seeker.state.base import StateStore

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 3.0
# An error is reported in one line of at most this many characters.
ERROR_CHARS = 300
# Where the Channel service answers whether its store does.
CHANNEL_HEALTH_PATH = "/v1/health"

# A check's round trip: the latency it measured itself (a Giver's ping of its
# Engine), or None to be timed from outside.
Probe = Callable[[], Awaitable[float | None]]


class Kind(StrEnum):
    STATE_STORE = "state_store"
    CHANNEL = "channel"
    DOCKER_ENGINE = "docker_engine"


@dataclass(frozen=True, slots=True)
class Check:
    """One service checked: how long it took to answer, or why it failed."""

    name: str
    kind: Kind
    ok: bool
    latency_ms: float | None = None
    error: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": str(self.kind),
            "ok": self.ok,
            "latency_ms": self.latency_ms,
            "error": self.error,
        }


async def run_check(name: str, kind: Kind, probe: Probe, timeout_s: float) -> Check:
    """Run `probe` within `timeout_s`: the Check saying how it went."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            measured = await probe()
    except TimeoutError:
        return Check(name, kind, ok=False, error=f"no answer in {timeout_s:g} s")
    except (SeekerError, ChannelError, aiohttp.ClientError, OSError) as e:
        return Check(name, kind, ok=False, error=one_line(str(e) or type(e).__name__))
    except Exception:
        log.exception("diagnostic check of %s failed", name)
        return Check(name, kind, ok=False, error="unexpected error; see the Seeker's log")
    latency_ms = measured if measured is not None else (time.monotonic() - started) * 1000
    return Check(name, kind, ok=True, latency_ms=round(latency_ms, 3))


def one_line(message: str) -> str:
    """`message` on one line, cut to ERROR_CHARS."""
    line = " ".join(message.split())
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Services:
    """What diagnostics check. `channel_url` is where Givers post results: an
    absolute http(s) URL names a Channel service checked over HTTP besides its store."""

    state: StateStore
    channel: Channel
    images: DockerImages
    givers: GiverRegistry
    channel_url: str = ""

    async def diagnose(self) -> list[Check]:
        """Every check, run at once."""
        timeout_s = CHECK_TIMEOUT_S
        async with aiohttp.ClientSession() as http:
            checks = [
                run_check(
                    without_secrets(self.state.url), Kind.STATE_STORE, self.state.ping, timeout_s
                ),
                run_check(
                    without_secrets(self.channel.url), Kind.CHANNEL, self.channel.ping, timeout_s
                ),
            ]
            if urlsplit(self.channel_url).scheme in ("http", "https"):
                url = self.channel_url.rstrip("/")
                service = partial(_channel_service, http, url)
                checks.append(run_check(without_secrets(url), Kind.CHANNEL, service, timeout_s))
            checks.append(run_check("seeker", Kind.DOCKER_ENGINE, self.images.ping, timeout_s))
            for entry in sorted(self.givers.online(), key=lambda e: e.info.giver_id):
                name = f"giver {entry.info.giver_id} ({entry.info.name})"
                checks.append(run_check(name, Kind.DOCKER_ENGINE, _engine_of(entry), timeout_s))
            return list(await asyncio.gather(*checks))


async def _channel_service(http: aiohttp.ClientSession, url: str) -> None:
    """The Channel service at `url` answers that its store does."""
    try:
        async with http.get(url + CHANNEL_HEALTH_PATH) as response:
            status, body = response.status, await response.read()
    except aiohttp.ClientError as e:
        raise ServiceUnavailable(f"cannot reach the Channel: {e}", service="channel") from e
    if status != 200:
        _, message = read_error(body)
        raise ServiceUnavailable(f"the Channel answered {status}: {message}", service="channel")


def _engine_of(entry: GiverEntry) -> Probe:
    """Ask the Giver of `entry` over its session how its Docker Engine is doing."""

    async def probe() -> float:
        session = entry.session
        if session is None:
            raise ConnectionError(f"the session with giver {entry.info.giver_id} closed")
        answer = await session.diagnose()
        if not answer.ok:
            raise ServiceUnavailable(
                answer.error or "the Giver reports its Docker Engine down", service="docker_engine"
            )
        return float(answer.latency_ms)

    return probe
