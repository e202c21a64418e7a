"""`seeker backup FILE` and `seeker restore FILE`: the Seeker's state store and its
Channel's store, found as `seeker run` finds them (--data-dir, --state, --store
or their SEEKGIVE_SEEKER_* variables), written to or filled from one file."""

import argparse
import os
from pathlib import Path
from typing import Any

from channel.options import add_flags
from seeker.cli import run
from seeker.config import SeekerConfig
from seeker.state import backup as backups

# The settings of `seeker run` that say where the stores are.
STORE_SETTINGS = tuple(s for s in run.SETTINGS if s.key in ("data_dir", "store", "state"))


def add_commands(commands: Any) -> None:
    taking = commands.add_parser(
        "backup",
        help="write the state store and the Channel's store to a new file "
        "(with every Seeker on them stopped)",
    )
    taking.add_argument("file", type=Path, help="the backup file to create (gzip'd JSON lines)")
    taking.add_argument(
        "--metadata-only",
        action="store_true",
        help="leave out the results' records (jobs, blocks, tokens and the rest stay in)",
    )
    add_flags(taking, STORE_SETTINGS, run.describe)
    taking.set_defaults(action=_backup)
    putting = commands.add_parser(
        "restore", help="fill an empty state store and Channel store from a backup file"
    )
    putting.add_argument("file", type=Path, help="a file `seeker backup` wrote")
    add_flags(putting, STORE_SETTINGS, run.describe)
    putting.set_defaults(action=_restore)


def _stores(args: argparse.Namespace) -> SeekerConfig:
    return SeekerConfig(**run.read_settings(STORE_SETTINGS, run.ENV_PREFIX, args, os.environ))


async def _backup(args: argparse.Namespace) -> int:
    config = _stores(args)
    held = await backups.backup(
        args.file,
        config.seeker_state_url,
        config.channel_store_url,
        results=not args.metadata_only,
    )
    print(f"backed up {held} to {args.file}")
    return 0


async def _restore(args: argparse.Namespace) -> int:
    config = _stores(args)
    held = await backups.restore(args.file, config.seeker_state_url, config.channel_store_url)
    print(f"restored {held} from {args.file}")
    return 0
