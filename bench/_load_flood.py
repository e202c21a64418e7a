"""A registration flood against a real Seeker, and whether its loop stays responsive.

A `seeker run` on its default SQLite stores takes REGISTRATIONS registrations of
fresh Giver ids (SMOKE_REGISTRATIONS with `smoke`), BATCH at a time, each signed
and posted as a Giver does it (giver.link.registration) with one admission
token. Meanwhile a thread of its own asks `/healthz` in a loop, and the lines
the Seeker logs while the flood runs (and for SUMMARY_WAIT_S after, so that
its summary shows) are counted, with those that name a Giver the flood
registered.

`measure(smoke=...)` gives `flood_registrations`, `flood_registrations_per_s`,
`flood_healthz_p50_ms`, `flood_healthz_p99_ms`, `flood_log_lines` and
`flood_log_lines_naming_givers`. Run as a script it prints them (`--json`,
`--smoke`: bench/_cli.py).
"""

import argparse
import asyncio
import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import _cli  # noqa: E402
from _seeker import operator_token, running_seeker, wait_for_seeker  # noqa: E402

from channel.wire.givers import Capabilities  # noqa: E402
from channel.wire.identity import Identity  # noqa: E402
from giver.link.registration import register  # noqa: E402
from seeker.cli.client import SeekerClient  # noqa: E402
from seeker.errors import SeekerError  # noqa: E402

REGISTRATIONS = 20_000
SMOKE_REGISTRATIONS = 200
BATCH = 50
# Between two /healthz calls.
HEALTHZ_PAUSE_S = 0.01
HEALTHZ_TIMEOUT_S = 30.0
RETRY_MAX_S = 1.0
# The Seeker logs a summary of registrations at most this long after them.
SUMMARY_WAIT_S = 11.0
CAPS = Capabilities(
    cpus=2, memory_bytes=2**31, arch="amd64", os="linux", docker_version="bench", slots=2
)


class Prober(threading.Thread):
    """Asks `/healthz` over one kept-alive connection until stopped; the latencies
    in ms."""

    def __init__(self, url: str) -> None:
        super().__init__(name="healthz", daemon=True)
        split = urlsplit(url)
        self._host, self._port = split.hostname or "127.0.0.1", split.port or 80
        self._stopping = threading.Event()
        self.latencies_ms: list[float] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=HEALTHZ_TIMEOUT_S)
        try:
            while not self._stopping.wait(HEALTHZ_PAUSE_S):
                started = time.perf_counter()
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    raise RuntimeError(f"/healthz answered {response.status}")
        except (OSError, RuntimeError, http.client.HTTPException) as e:
            self.failure = e
        finally:
            connection.close()

    def end(self) -> list[float]:
        self._stopping.set()
        self.join()
        if self.failure is not None:
            raise SystemExit(f"/healthz failed during the flood: {self.failure!r}")
        return self.latencies_ms


async def flood(url: str, token: str, identities: list[Identity]) -> float:
    """Register every identity, BATCH at a time; the seconds it took."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        for start in range(0, len(identities), BATCH):
            await asyncio.gather(
                *(
                    register(
                        http,
                        url,
                        identity,
                        name=f"flood-{start + n}",
                        volunteer="",
                        capabilities=CAPS,
                        retry_max_s=RETRY_MAX_S,
                        token=token,
                    )
                    for n, identity in enumerate(identities[start : start + BATCH])
                )
            )
    return time.monotonic() - started


async def admission_token(url: str, data_dir: Path, process: subprocess.Popen) -> str:
    """A token that admits any number of Givers, issued by the running Seeker."""
    operator = await operator_token(data_dir, process)
    async with SeekerClient(url, token=operator) as client:
        await wait_for_seeker(client, process)
        try:
            issued = await client.issue_token({"label": "flood"})
        except SeekerError as e:
            raise SystemExit(f"cannot issue an admission token: {e}") from e
    return str(issued["token"])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(*, smoke: bool) -> dict[str, float | int]:
    """The flood's figures (see the module's docstring)."""
    count = SMOKE_REGISTRATIONS if smoke else REGISTRATIONS
    identities = [Identity.generate() for _ in range(count)]
    with tempfile.TemporaryDirectory(prefix="flood-") as work:
        data_dir = Path(work) / "seeker"
        log = Path(work) / "seeker.log"
        with running_seeker(data_dir) as (process, url):
            token = asyncio.run(admission_token(url, data_dir, process))
            before = log.stat().st_size
            prober = Prober(url)
            prober.start()
            try:
                took_s = asyncio.run(flood(url, token, identities))
            finally:
                latencies = prober.end()
            time.sleep(SUMMARY_WAIT_S)
            with log.open("rb") as lines:
                lines.seek(before)
                written = lines.read().decode(errors="replace").splitlines()
    ids = {identity.id for identity in identities}
    naming = [line for line in written if any(word.strip(",:;()") in ids for word in line.split())]
    return {
        "flood_registrations": count,
        "flood_registrations_per_s": count / took_s,
        "flood_healthz_p50_ms": statistics.median(latencies),
        "flood_healthz_p99_ms": percentile(latencies, 0.99),
        "flood_log_lines": len(written),
        "flood_log_lines_naming_givers": len(naming),
    }


def main() -> int:
    args = _cli.parse(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), {})
    figures = measure(smoke=args.smoke)
    for name, value in figures.items():
        print(f"{name}: {value:,.1f}" if isinstance(value, float) else f"{name}: {value:,}")
    _cli.print_figures(args, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
