"""`channel dataset`: upload, download, list and delete datasets on a Channel service.

The reader token comes from --token or the SEEKGIVE_READER_TOKEN environment
variable; files are read and written a piece at a time, whatever their size.

May import: channel.errors, channel.service, channel.store.
"""

import argparse
import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import aiohttp

from channel.errors import ChannelError
from channel.service.dataset_client import DatasetClient
from channel.store.datasets import Dataset

TOKEN_ENV = "SEEKGIVE_READER_TOKEN"
READ_BYTES = 256 * 1024


def add_dataset_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The `dataset` subcommand and its own subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--channel",
        required=True,
        metavar="URL",
        help="the Channel service, e.g. http://127.0.0.1:8766 or http://seeker:8765/channel",
    )
    common.add_argument("--token", help=f"a reader token (default: ${TOKEN_ENV})")
    dataset = commands.add_parser("dataset", help="upload, download, list and delete datasets")
    actions = dataset.add_subparsers(dest="dataset_command", required=True)
    put = actions.add_parser("put", parents=[common], help="upload a file of JSON lines")
    put.add_argument("name")
    put.add_argument("file", help="JSON lines, one object a line; - for standard input")
    get = actions.add_parser("get", parents=[common], help="download a dataset as JSON lines")
    get.add_argument("name")
    get.add_argument("-o", "--output", type=Path, help="the file to write (default: stdout)")
    actions.add_parser("list", parents=[common], help="the datasets the token may read")
    delete = actions.add_parser("delete", parents=[common], help="remove a dataset")
    delete.add_argument("name")


def run_dataset(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Carry out a parsed `channel dataset` command; 1 with one line on stderr if it fails."""
    token = args.token or environ.get(TOKEN_ENV, "")
    try:
        if not token:
            raise ChannelError(f"no reader token: give --token or set {TOKEN_ENV}")
        asyncio.run(_run(args, token))
    except (ChannelError, OSError) as e:
        print(f"channel: error: {e}", file=sys.stderr)
        return 1
    return 0


async def _run(args: argparse.Namespace, token: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = DatasetClient(args.channel, token, session)
        match args.dataset_command:
            case "put":
                print(_described(await _put(client, args.name, args.file)))
            case "get":
                await _get(client, args.name, args.output)
            case "list":
                datasets = await client.list()
                print(f"datasets: {len(datasets)}")
                for dataset in datasets:
                    print(f"  {_described(dataset)}")
            case "delete":
                print(f"deleted {_described(await client.delete(args.name))}")


def _described(dataset: Dataset) -> str:
    created = datetime.fromtimestamp(dataset.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"{dataset.name}: {dataset.records} records, {dataset.size_bytes} bytes, "
        f"uploaded by {dataset.uploaded_by} at {created}, sha256 {dataset.sha256}"
    )


async def _put(client: DatasetClient, name: str, file: str) -> Dataset:
    if file == "-":
        return await client.put(name, _pieces(sys.stdin.buffer))
    source = await asyncio.to_thread(Path(file).open, "rb")
    try:
        status = os.fstat(source.fileno())
        size = status.st_size if stat.S_ISREG(status.st_mode) else None
        return await client.put(name, _pieces(source), size)
    finally:
        await asyncio.to_thread(source.close)


async def _pieces(source: BinaryIO) -> AsyncIterator[bytes]:
    while piece := await asyncio.to_thread(source.read, READ_BYTES):
        yield piece


async def _get(client: DatasetClient, name: str, output: Path | None) -> None:
    if output is None:
        async for piece in client.download(name):
            await asyncio.to_thread(sys.stdout.buffer.write, piece)
        await asyncio.to_thread(sys.stdout.buffer.flush)
        return
    # Written beside the output and renamed once whole, so a failed download
    # leaves no file that looks complete.
    partial = output.with_name(output.name + ".part")
    target = await asyncio.to_thread(partial.open, "wb")
    try:
        with contextlib.closing(target):
            async for piece in client.download(name):
                await asyncio.to_thread(target.write, piece)
        await asyncio.to_thread(partial.replace, output)
    except BaseException:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
        raise
    print(f"{name} written to {output}")
