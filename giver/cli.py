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
    if not seeker:
        raise ConfigError("seeker", f"give --seeker URL or set {ENV_PREFIX}SEEKER")
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
    for name in ("volunteer", "token", "seeker_key"):
        value = getattr(args, name) or environ.get(f"{ENV_PREFIX}{name.upper()}")
        if value:
            defaults_overridden[name] = value.strip()
    if args.allow_image:
        defaults_overridden["allowed_images"] = tuple(args.allow_image)
    elif environ.get(f"{ENV_PREFIX}ALLOW_IMAGES", "").strip():
        items = environ[f"{ENV_PREFIX}ALLOW_IMAGES"].split(",")
        defaults_overridden["allowed_images"] = tuple(i.strip() for i in items if i.strip())
    return GiverConfig(seeker_url=seeker, data_dir=data_dir(args, environ), **defaults_overridden)


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
    run.add_argument(
        "--token",
        metavar="TOKEN",
        help="an admission token from the Seeker's operator; without one the Giver "
        f"waits until the operator approves it (env {ENV_PREFIX}TOKEN)",
    )
    run.add_argument(
        "--seeker-key",
        metavar="KEY",
        help="the public key the Seeker signs tasks with, as `seeker id` prints it "
        f"(env {ENV_PREFIX}SEEKER_KEY; default: pin the key it names at first contact)",
    )
    run.add_argument(
        "--allow-image",
        action="append",
        metavar="PATTERN",
        help="an image tasks may run: a repository (seekgive/catalog), a namespace "
        "(seekgive/*) or a digest (sha256:...); repeatable (env "
        f"{ENV_PREFIX}ALLOW_IMAGES=PATTERN,..., which --allow-image replaces; "
        "default: any image present here)",
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
