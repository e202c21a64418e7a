"""`channel serve`: run the Channel's HTTP service on its own; `channel dataset`:
upload, download, list and delete datasets on one.

May import: channel.errors, channel.dataset_cli, channel.lifecycle, channel.service, channel.store.
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
    serve.add_argument(
        "--store",
        default="sqlite:///channel.sqlite3",
        help="results store URL: sqlite:///PATH or mongodb://HOST/DB",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8766)
    serve.add_argument(
        "--max-result-mib",
        type=_positive,
        default=DEFAULT_MAX_RESULT_BYTES / MIB,
        help="largest result's records accepted, in MiB (default %(default)s)",
    )
    serve.add_argument(
        "--max-record-mib",
        type=_positive,
        default=DEFAULT_MAX_RECORD_BYTES / MIB,
        help="largest single record (or dataset line) accepted, in MiB (default %(default)s)",
    )
    serve.add_argument(
        "--max-dataset-mib",
        type=_positive,
        default=DEFAULT_MAX_DATASET_BYTES / MIB,
        help="largest dataset accepted, in MiB (default %(default)s)",
    )
    serve.add_argument(
        "--sweep-interval-s",
        type=_positive,
        default=DEFAULT_SWEEP_INTERVAL_S,
        help="how often results past their job's retention are removed (default %(default)s)",
    )
    serve.add_argument("-v", "--verbose", action="store_true")
    add_dataset_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "dataset":
        return run_dataset(args, os.environ)
    configure_logging(args.verbose)
    limits = SizeLimits(
        int(args.max_result_mib * MIB),
        int(args.max_record_mib * MIB),
        int(args.max_dataset_mib * MIB),
    )
    server = ChannelServer(
        args.store,
        args.host,
        args.port,
        limits=limits,
        sweep_interval_s=args.sweep_interval_s,
    )
    try:
        asyncio.run(run_until_signal(server))
    except (ChannelError, OSError) as e:
        print(f"channel: error: {e}", file=sys.stderr)
        return 1
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value
