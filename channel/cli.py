"""`channel serve`: run the Channel's HTTP service on its own; `channel dataset`:
upload, download, list and delete datasets on one.

Every option of `channel serve` is one `Setting` in SETTINGS: its flag and its
environment variable (SEEKGIVE_CHANNEL_<KEY>); a value comes from the flag, else
the variable, else DEFAULTS.

May import: channel.errors, channel.dataset_cli, channel.lifecycle, channel.options,
channel.service, channel.store.
"""

import argparse
import asyncio
import logging
import os
import sys

from aiohttp import web

from channel.dataset_cli import add_dataset_parser, run_dataset
from channel.errors import ChannelError
from channel.lifecycle import AsyncLifecycle, configure_logging, run_until_signal
from channel.options import NUMBER, TEXT, WHOLE, Kind, OptionError, Setting, add_flags, read_values
from channel.service.app import DEFAULT_SWEEP_INTERVAL_S, make_app
from channel.store.base import Channel
from channel.store.factory import open_channel
from channel.store.ingest import (
    DEFAULT_MAX_DATASET_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_RESULT_BYTES,
    SizeLimits,
)

MIB = 1024 * 1024
ENV_PREFIX = "SEEKGIVE_CHANNEL_"


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError(f"must be a positive number, got {value:g}")
    return value


POSITIVE = Kind(
    "a positive number",
    lambda v: _positive(NUMBER.from_toml(v)),
    lambda text: _positive(NUMBER.from_text(text)),
)
SETTINGS = (
    Setting(
        "store", TEXT, flag="--store", help="results store URL: sqlite:///PATH or mongodb://HOST/DB"
    ),
    Setting("host", TEXT, flag="--host", help="address to listen on"),
    Setting("port", WHOLE, flag="--port", help="port"),
    Setting(
        "max_result_mib",
        POSITIVE,
        flag="--max-result-mib",
        help="largest result's records accepted, in MiB",
    ),
    Setting(
        "max_record_mib",
        POSITIVE,
        flag="--max-record-mib",
        help="largest single record (or dataset line) accepted, in MiB",
    ),
    Setting(
        "max_dataset_mib",
        POSITIVE,
        flag="--max-dataset-mib",
        help="largest dataset accepted, in MiB",
    ),
    Setting(
        "sweep_interval_s",
        POSITIVE,
        flag="--sweep-interval-s",
        help="how often results past their job's retention are removed",
    ),
)
DEFAULTS = {
    "store": "sqlite:///channel.sqlite3",
    "host": "127.0.0.1",
    "port": 8766,
    "max_result_mib": DEFAULT_MAX_RESULT_BYTES / MIB,
    "max_record_mib": DEFAULT_MAX_RECORD_BYTES / MIB,
    "max_dataset_mib": DEFAULT_MAX_DATASET_BYTES / MIB,
    "sweep_interval_s": DEFAULT_SWEEP_INTERVAL_S,
}

log = logging.getLogger(__name__)


class ChannelServer(AsyncLifecycle):
    """The Channel service as a daemon: a store and an HTTP listener."""

    def __init__(
        self,
        store_url: str,
        host: str,
        port: int,
        *,
        limits: SizeLimits | None = None,
        sweep_interval_s: float = DEFAULT_SWEEP_INTERVAL_S,
    ) -> None:
        self._store_url = store_url
        self._limits = limits
        self._sweep_interval_s = sweep_interval_s
        self._host = host
        self._port = port
        self._channel: Channel | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = asyncio.Event()

    async def _start(self) -> None:
        self._channel = await open_channel(self._store_url, self._limits)
        self._runner = web.AppRunner(
            make_app(self._channel, sweep_interval_s=self._sweep_interval_s)
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info(
            "channel serving on http://%s:%d/ (store %s)", self._host, self._port, self._store_url
        )

    async def serve(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="channel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Channel over HTTP")
    add_flags(serve, SETTINGS, lambda s: f"env {s.env(ENV_PREFIX)}; default {DEFAULTS[s.key]}")
    serve.add_argument("-v", "--verbose", action="store_true")
    add_dataset_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "dataset":
        return run_dataset(args, os.environ)
    try:
        values = {**DEFAULTS, **read_values(SETTINGS, ENV_PREFIX, args, os.environ, {})}
    except OptionError as e:
        parser.error(f"{e.source}: {e}")
    configure_logging(args.verbose)
    limits = SizeLimits(
        int(values["max_result_mib"] * MIB),
        int(values["max_record_mib"] * MIB),
        int(values["max_dataset_mib"] * MIB),
    )
    server = ChannelServer(
        values["store"],
        values["host"],
        values["port"],
        limits=limits,
        sweep_interval_s=values["sweep_interval_s"],
    )
    try:
        asyncio.run(run_until_signal(server))
    except (ChannelError, OSError) as e:
        print(f"channel: error: {e}", file=sys.stderr)
        return 1
    return 0
