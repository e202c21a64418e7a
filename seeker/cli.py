"""`seeker`: run the Seeker daemon, submit jobs, follow them, export results."""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from channel import canonical
from channel.errors import ChannelError, WireError
from channel.lifecycle import configure_logging, run_until_signal
from seeker.client import SeekerClient
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import SeekerError

DEFAULT_SEEKER_URL = "http://127.0.0.1:8765"
WAIT_POLL_S = 0.5


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return asyncio.run(args.action(args))
    except (SeekerError, ChannelError, OSError) as e:
        print(f"seeker: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seeker", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the Seeker daemon")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8765)
    run.add_argument("--data-dir", type=Path, default=Path("seeker-data"))
    run.add_argument(
        "--store",
        default="",
        help="results store URL: sqlite:///PATH or "
        "mongodb://HOST/DB (default: a SQLite file in the data dir)",
    )
    run.add_argument(
        "--channel-url",
        default="",
        help="Channel URL Givers post to (default: this Seeker's /channel)",
    )
    run.set_defaults(action=_run)

    url = {
        "default": os.environ.get("SEEKGIVE_SEEKER", DEFAULT_SEEKER_URL),
        "help": "the Seeker's URL (env SEEKGIVE_SEEKER)",
    }
    submit = commands.add_parser("submit", help="submit a job")
    submit.add_argument("--seeker", **url)
    submit.add_argument("--image", required=True, help="the scraper image")
    keys = submit.add_mutually_exclusive_group(required=True)
    keys.add_argument("--keys", nargs="+", metavar="KEY", help="explicit keys")
    keys.add_argument("--keys-file", type=Path, help="a file of keys, one per line")
    keys.add_argument("--range", metavar="START:STOP", help="integer keys START <= k < STOP")
    submit.add_argument("--block-size", type=int, default=100)
    submit.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a scraper setting; VALUE is read as JSON if it parses",
    )
    submit.add_argument("--network", default="none", choices=("none", "host", "bridge"))
    submit.add_argument("--timeout-s", type=float, help="wall-clock limit per task")
    submit.add_argument("--name", default="")
    submit.add_argument("--wait", action="store_true", help="follow the job until it ends")
    submit.set_defaults(action=_submit)

    status = commands.add_parser("status", help="show jobs, or one job")
    status.add_argument("--seeker", **url)
    status.add_argument("job_id", nargs="?")
    status.set_defaults(action=_status)

    export = commands.add_parser("export", help="write a job's records as JSON lines")
    export.add_argument("--seeker", **url)
    export.add_argument("job_id")
    export.add_argument("-o", "--output", type=Path, help="file to write (default JOB.jsonl)")
    export.set_defaults(action=_export)
    return parser


async def _run(args: argparse.Namespace) -> int:
    config = SeekerConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        store_url=args.store,
        channel_url=args.channel_url,
    )
    await run_until_signal(Seeker(config))
    return 0


def job_body(args: argparse.Namespace) -> dict[str, Any]:
    """The submission body the submit flags describe."""
    body: dict[str, Any] = {
        "image": args.image,
        "block_size": args.block_size,
        "network": args.network,
        "settings": {},
    }
    if args.name:
        body["name"] = args.name
    for setting in args.setting:
        name, sep, raw = setting.partition("=")
        if not sep or not name:
            raise SeekerError(f"--setting {setting!r} is not NAME=VALUE")
        try:
            body["settings"][name] = canonical.loads(raw)
        except WireError:
            body["settings"][name] = raw
    if args.range:
        start, sep, stop = args.range.partition(":")
        try:
            body["range"] = [int(start), int(stop)]
        except ValueError:
            raise SeekerError(f"--range {args.range!r} is not START:STOP") from None
        if not sep:
            raise SeekerError(f"--range {args.range!r} is not START:STOP")
    elif args.keys_file:
        try:
            text = args.keys_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SeekerError(f"cannot read keys file {args.keys_file}: {e}") from e
        body["keys"] = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        body["keys"] = args.keys
    if args.timeout_s is not None:
        body["limits"] = {"timeout_s": args.timeout_s}
    return body


async def _submit(args: argparse.Namespace) -> int:
    body = await asyncio.to_thread(job_body, args)
    async with SeekerClient(args.seeker) as client:
        job = await client.submit(body)
        print(job["job_id"])
        if not args.wait:
            return 0
        job = await wait_for_job(client, job["job_id"], echo=True)
    return 0 if job["keys"]["failed"] == 0 else 2


async def wait_for_job(client: SeekerClient, job_id: str, *, echo: bool) -> dict[str, Any]:
    """Poll until the job is done; with `echo`, print each change of its progress."""
    last = ""
    while True:
        job = await client.job(job_id)
        line = progress_line(job)
        if echo and line != last:
            print(line, flush=True)
            last = line
        if job["status"] == "done":
            return job
        await asyncio.sleep(WAIT_POLL_S)


def progress_line(job: dict[str, Any]) -> str:
    keys = job["keys"]
    return (
        f"{job['job_id']} {job['status']}: {keys['done']}/{keys['total']} done, "
        f"{keys['failed']} failed, {keys['leased']} leased, {keys['pending']} pending"
    )


async def _status(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker) as client:
        if args.job_id:
            job = await client.job(args.job_id)
            print(progress_line(job))
            for failure in job["failures"]:
                where = failure["key"] or f"task {failure['task_id']}"
                print(f"  failed {where}: {failure['reason']}")
            return 0
        givers = await client.givers()
        online = sum(g["online"] for g in givers)
        print(f"givers: {online} online of {len(givers)} registered")
        for giver in givers:
            seen = time.strftime("%H:%M:%S", time.localtime(giver["last_seen"]))
            print(
                f"  {giver['giver_id']} {giver['name']} "
                f"{'online' if giver['online'] else 'offline'} (last seen {seen})"
            )
        jobs = await client.jobs()
        print(f"jobs: {len(jobs)}")
        for job in jobs:
            print(f"  {progress_line(job)}")
    return 0


async def _export(args: argparse.Namespace) -> int:
    path = args.output or Path(f"{args.job_id}.jsonl")
    async with SeekerClient(args.seeker) as client:
        count = await client.export(args.job_id, path)
    print(f"{count} records written to {path}")
    return 0
