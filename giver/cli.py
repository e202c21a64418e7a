"""`giver`: lend this machine to a Seeker, running its scrapers in sandboxed containers.

Settings come from flags, then from SEEKGIVE_GIVER_* environment variables.
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from channel.errors import ChannelError
from channel.identity import Identity
from channel.lifecycle import configure_logging, run_until_signal
from giver.config import IDENTITY_FILE, GiverConfig
from giver.daemon import Giver
from giver.errors import ConfigError, GiverError

ENV_PREFIX = "SEEKGIVE_GIVER_"
DATA_DIR_NAME = "seekgive-giver"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """$XDG_DATA_HOME/seekgive-giver, or ~/.local/share/seekgive-giver."""
    xdg = environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / DATA_DIR_NAME


def data_dir(args: argparse.Namespace, environ: Mapping[str, str]) -> Path:
    chosen = args.data_dir or environ.get(f"{ENV_PREFIX}DATA_DIR")
    return Path(chosen).expanduser().resolve() if chosen else default_data_dir(environ)


def build_config(args: argparse.Namespace, environ: Mapping[str, str]) -> GiverConfig:
    """The daemon's settings: flags first, then the environment, then defaults."""
    seeker = args.seeker or environ.get(f"{ENV_PREFIX}SEEKER")
    lan = args.lan or environ.get(f"{ENV_PREFIX}LAN", "") in ("1", "true", "yes")
    if lan and seeker:
        raise ConfigError("lan", "in LAN mode the Seeker dials this Giver: give no --seeker URL")
    if not seeker and not lan:
        raise ConfigError(
            "seeker", f"give --seeker URL (or set {ENV_PREFIX}SEEKER), or --lan to be found"
        )
    slots = args.slots
    if slots is None and environ.get(f"{ENV_PREFIX}SLOTS"):
        try:
            slots = int(environ[f"{ENV_PREFIX}SLOTS"])
        except ValueError as e:
            raise ConfigError(f"{ENV_PREFIX}SLOTS", "must be a whole number") from e
    defaults_overridden: dict[str, Any] = {}
    if slots is not None:
        defaults_overridden["slots"] = slots
    name = args.name or environ.get(f"{ENV_PREFIX}NAME")
    if name:
        defaults_overridden["name"] = name
    if args.label:
        defaults_overridden["labels"] = parse_labels(args.label, "--label")
    elif environ.get(f"{ENV_PREFIX}LABELS", "").strip():
        items = environ[f"{ENV_PREFIX}LABELS"].split(",")
        defaults_overridden["labels"] = parse_labels(
            [item for item in items if item.strip()], f"{ENV_PREFIX}LABELS"
        )
    volunteer = args.volunteer or environ.get(f"{ENV_PREFIX}VOLUNTEER")
    if volunteer:
        defaults_overridden["volunteer"] = volunteer
    if lan:
        defaults_overridden.update(lan_settings(args, environ))
    elif args.listen or args.mdns_interface:
        raise ConfigError("--lan", "--listen and --mdns-interface go with --lan")
    return GiverConfig(
        seeker_url=seeker or "", data_dir=data_dir(args, environ), **defaults_overridden
    )


def lan_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """LAN mode's settings: where to listen for the Seeker, which interfaces mDNS uses."""
    settings: dict[str, Any] = {"lan": True}
    listen = args.listen or environ.get(f"{ENV_PREFIX}LISTEN")
    if listen:
        host, colon, port = listen.rpartition(":")
        if not colon or not host or not port.isdigit():
            raise ConfigError("--listen", f"{listen!r} is not HOST:PORT")
        settings["listen_host"], settings["listen_port"] = host.strip("[]"), int(port)
    interfaces = args.mdns_interface or [
        item.strip()
        for item in environ.get(f"{ENV_PREFIX}MDNS_INTERFACES", "").split(",")
        if item.strip()
    ]
    if interfaces:
        settings["mdns_interfaces"] = tuple(interfaces)
    return settings


def parse_labels(items: list[str], source: str) -> dict[str, str]:
    """NAME=VALUE items as a mapping; `source` (a flag or variable) names them in errors.

    Whether names and values follow the label rules, GiverConfig checks.
    """
    labels: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise ConfigError(source, f"label {item.strip()!r} is not NAME=VALUE")
        if name in labels:
            raise ConfigError(source, f"label {name!r} is given twice")
        labels[name] = value.strip()
    return labels


def show_id(directory: Path) -> None:
    """Print the Giver's id and public key, creating its identity on first use."""
    identity = Identity.load_or_create(directory / IDENTITY_FILE)
    print(f"id:         {identity.id}")
    print(f"public key: {identity.public_key}")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="giver", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the Giver daemon until interrupted")
    run.add_argument(
        "--seeker",
        metavar="URL",
        help=f"the Seeker's URL, e.g. http://seeker:8765 (env {ENV_PREFIX}SEEKER)",
    )
    run.add_argument(
        "--lan",
        action="store_true",
        help="be found on the LAN instead: listen for the Seeker and advertise this Giver "
        f"over mDNS (env {ENV_PREFIX}LAN=1)",
    )
    run.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="with --lan: where the Seeker dials this Giver "
        f"(env {ENV_PREFIX}LISTEN, default 0.0.0.0:0, any free port)",
    )
    run.add_argument(
        "--mdns-interface",
        action="append",
        metavar="IP",
        help="with --lan: advertise on the interface with this address only; repeatable "
        f"(env {ENV_PREFIX}MDNS_INTERFACES=IP,..., default all)",
    )
    run.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"identity, outbox and work files (env {ENV_PREFIX}DATA_DIR, "
        f"default $XDG_DATA_HOME/{DATA_DIR_NAME})",
    )
    run.add_argument(
        "--slots",
        type=int,
        metavar="N",
        help=f"containers to run at once (env {ENV_PREFIX}SLOTS, default 2)",
    )
    run.add_argument(
        "--name", help=f"name shown to the Seeker (env {ENV_PREFIX}NAME, default the host name)"
    )
    run.add_argument(
        "--label",
        action="append",
        metavar="NAME=VALUE",
        help="a fact about this machine for the Seeker, e.g. region=eu; repeatable "
        f"(env {ENV_PREFIX}LABELS=NAME=VALUE,..., which --label replaces)",
    )
    run.add_argument(
        "--volunteer",
        metavar="NAME",
        help="who lends this machine: Givers of one volunteer never get two copies "
        f"of the same block (env {ENV_PREFIX}VOLUNTEER)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    show = commands.add_parser("id", help="print this Giver's id and public key")
    show.add_argument("--data-dir", metavar="DIR", help=f"env {ENV_PREFIX}DATA_DIR")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "id":
            show_id(data_dir(args, os.environ))
            return 0
        config = build_config(args, os.environ)
        configure_logging(args.verbose)
        asyncio.run(run_until_signal(Giver(config)))
    except (GiverError, ChannelError, OSError) as e:
        print(f"giver: error: {e}", file=sys.stderr)
        return 1
    return 0
