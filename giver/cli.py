"""`giver`: lend this machine to a Seeker, running its scrapers in sandboxed containers.

Settings come from flags, then SEEKGIVE_GIVER_* environment variables, then a
TOML file (see giver.settings). `giver pause`, `giver resume` and `giver status`
talk to the running daemon through its control socket.
"""

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from channel.errors import ChannelError
from channel.lifecycle import configure_logging, run_until_signal
from channel.wire.identity import Identity
from giver import control, pause, status
from giver.config import IDENTITY_FILE, control_path, pause_path
from giver.daemon import Giver
from giver.errors import GiverError, NotRunning
from giver.settings import (
    DATA_DIR_NAME,
    ENV_PREFIX,
    add_run_flags,
    build_config,
    data_dir,
    default_data_dir,
)


def chosen_data_dir(args: argparse.Namespace) -> Path:
    return data_dir(args, os.environ) or default_data_dir(os.environ)


def show_id(directory: Path) -> None:
    """Print the Giver's id and public key, creating its identity on first use."""
    identity = Identity.load_or_create(directory / IDENTITY_FILE)
    print(f"id:         {identity.id}")
    print(f"public key: {identity.public_key}")


def show_status(directory: Path, as_json: bool) -> int:
    """Print the running daemon's status; 3 when no daemon runs."""
    try:
        doc = asyncio.run(control.call(control_path(directory), "GET", "/status"))
    except NotRunning as e:
        if as_json:
            print(json.dumps({"daemon_running": False, "data_dir": str(directory)}))
        else:
            print(str(e))
            since = pause.paused_since(pause_path(directory))
            if since is not None:
                print("it is paused: it will take no tasks when it starts, until `giver resume`")
        return 3
    print(json.dumps({"daemon_running": True, **doc}, indent=2) if as_json else status.render(doc))
    return 0


def set_paused(directory: Path, paused: bool) -> None:
    """Pause or resume through the running daemon, or in its data dir if none runs."""
    route = "/pause" if paused else "/resume"
    try:
        asyncio.run(control.call(control_path(directory), "POST", route))
    except NotRunning:
        if paused:
            pause.pause(pause_path(directory))
            print("paused; the Giver is not running and will start paused")
        else:
            pause.resume(pause_path(directory))
            print("resumed; the Giver is not running and will take tasks when it starts")
        return
    if paused:
        print("paused: no new tasks; running tasks go on until they finish")
    else:
        print("resumed: taking tasks again (within its active hours)")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="giver", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    data_dir_help = (
        f"identity, outbox, work files and giver.toml (env {ENV_PREFIX}DATA_DIR, "
        f"default $XDG_DATA_HOME/{DATA_DIR_NAME})"
    )
    run = commands.add_parser("run", help="run the Giver daemon until interrupted")
    run.add_argument("--data-dir", metavar="DIR", help=data_dir_help)
    run.add_argument(
        "--config",
        metavar="FILE",
        help=f"a TOML settings file (env {ENV_PREFIX}CONFIG, default giver.toml in the data dir)",
    )
    add_run_flags(run)
    run.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    for name, help_text in (
        ("id", "print this Giver's id and public key"),
        ("pause", "take no new tasks (running ones finish), also after a restart"),
        ("resume", "take tasks again"),
        ("status", "show what the running Giver does"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--data-dir", metavar="DIR", help=data_dir_help)
        if name == "status":
            command.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "id":
            show_id(chosen_data_dir(args))
            return 0
        if args.command == "status":
            return show_status(chosen_data_dir(args), args.json)
        if args.command in ("pause", "resume"):
            set_paused(chosen_data_dir(args), args.command == "pause")
            return 0
        config = build_config(args, os.environ)
        configure_logging(args.verbose)
        giver = Giver(config)
        asyncio.run(run_until_signal(giver, drain=giver.drain))
    except (GiverError, ChannelError, OSError) as e:
        print(f"giver: error: {e}", file=sys.stderr)
        return 1
    return 0
