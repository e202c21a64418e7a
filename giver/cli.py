"""`giver`: lend this machine to a Seeker, running its scrapers in sandboxed containers.

Settings come from flags, then SEEKGIVE_GIVER_* environment variables, then a
TOML file (see giver.terms.settings). `giver pause`, `giver resume` and `giver status`
find the data dir as `giver run` does and talk to the daemon running there
through its control socket; with none running they say so, and create nothing
where no Giver ever ran.
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
from giver.controls import control, pause, status
from giver.daemon import Giver
from giver.errors import GiverError, NoGiverHere, NotRunning
from giver.terms.config import IDENTITY_FILE, control_path, pause_path
from giver.terms.settings import DATA_DIR_NAME, add_run_flags, build_config, locate
from giver.terms.table import ENV_PREFIX


def giver_ran_in(directory: Path) -> bool:
    """Whether a Giver ever ran with data dir `directory`: it holds its identity."""
    return (directory / IDENTITY_FILE).is_file()


def show_id(directory: Path) -> None:
    """Print the Giver's id and public key, creating its identity on first use."""
    identity = Identity.load_or_create(directory / IDENTITY_FILE)
    print(f"id:         {identity.id}")
    print(f"public key: {identity.public_key}")


def show_status(directory: Path, as_json: bool) -> int:
    """Print the running daemon's status; 3 when no daemon runs."""
    try:
        doc = asyncio.run(control.call(control_path(directory), "GET", "/status"))
    except NotRunning:
        ran = giver_ran_in(directory)
        if as_json:
            print(
                json.dumps(
                    {"daemon_running": False, "data_dir": str(directory), "giver_ran_here": ran}
                )
            )
        elif not ran:
            print(f"no Giver is running with the data dir {directory}, and none has run there")
        else:
            print(f"no Giver is running with the data dir {directory}")
            since = pause.paused_since(pause_path(directory))
            if since is not None:
                print("it is paused: it will take no tasks when it starts, until `giver resume`")
        return 3
    print(json.dumps({"daemon_running": True, **doc}, indent=2) if as_json else status.render(doc))
    return 0


def set_paused(directory: Path, paused: bool) -> None:
    """Pause or resume through the running daemon, or in its data dir if none runs
    but one ran there; NoGiverHere if none ever did."""
    route = "/pause" if paused else "/resume"
    try:
        asyncio.run(control.call(control_path(directory), "POST", route))
    except NotRunning:
        if not giver_ran_in(directory):
            raise NoGiverHere(directory, IDENTITY_FILE) from None
        not_running = f"no Giver is running with the data dir {directory}"
        if paused:
            pause.pause(pause_path(directory))
            print(f"paused; {not_running}: it will start paused")
        else:
            pause.resume(pause_path(directory))
            print(f"resumed; {not_running}: it will take tasks when it starts")
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
    config_help = (
        f"a TOML settings file, whose data_dir names the data dir unless --data-dir or "
        f"{ENV_PREFIX}DATA_DIR does (env {ENV_PREFIX}CONFIG, default giver.toml in the data dir)"
    )
    for name, help_text in (
        ("run", "run the Giver daemon until interrupted"),
        ("id", "print this Giver's id and public key"),
        ("pause", "take no new tasks (running ones finish), also after a restart"),
        ("resume", "take tasks again"),
        ("status", "show what the running Giver does"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--data-dir", metavar="DIR", help=data_dir_help)
        command.add_argument("--config", metavar="FILE", help=config_help)
        if name == "run":
            add_run_flags(command)
            command.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
        if name == "status":
            command.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "id":
            show_id(locate(args, os.environ).data_dir)
            return 0
        if args.command == "status":
            return show_status(locate(args, os.environ).data_dir, args.json)
        if args.command in ("pause", "resume"):
            set_paused(locate(args, os.environ).data_dir, args.command == "pause")
            return 0
        config = build_config(args, os.environ)
        configure_logging(args.verbose)
        giver = Giver(config)
        asyncio.run(run_until_signal(giver, drain=giver.drain))
    except (GiverError, ChannelError, OSError) as e:
        print(f"giver: error: {e}", file=sys.stderr)
        return 1
    return 0
