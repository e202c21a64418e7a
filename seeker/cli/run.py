"""`seeker run`: the Seeker daemon, with its options read from one table.

Every option is one `Setting` in SETTINGS: its flag, its environment variable
(SEEKGIVE_SEEKER_<KEY>) and the SeekerConfig field it sets. A value comes from
the flag, else the variable, else SeekerConfig's default, which the flag's help
shows; no default is written twice.
"""

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from channel.files import SecretFileError, read_secret
from channel.lifecycle import run_until_signal
from channel.options import (
    NUMBER,
    PATH,
    SWITCH,
    TEXT,
    TEXTS,
    WHOLE,
    OptionError,
    Setting,
    add_flags,
    read_values,
)
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import ConfigError, SeekerError

ENV_PREFIX = "SEEKGIVE_SEEKER_"
# Where a daemon listens: `seeker run` and `seeker front` alike.
LISTENING = (
    Setting("host", TEXT, flag="--host", help="address to listen on"),
    Setting("port", WHOLE, flag="--port", help="port"),
)
SETTINGS = (
    *LISTENING,
    Setting("data_dir", PATH, flag="--data-dir", help="where the default SQLite stores live"),
    Setting(
        "store",
        TEXT,
        "store_url",
        "--store",
        "results store URL: sqlite:///PATH or mongodb://HOST/DB "
        "(default: a SQLite file in the data dir)",
    ),
    Setting(
        "state",
        TEXT,
        "state_url",
        "--state",
        "the Seeker's own state store: sqlite:///PATH or mongodb://HOST/DB "
        "(default: a SQLite file in the data dir)",
    ),
    Setting(
        "channel_url",
        TEXT,
        flag="--channel-url",
        help="Channel URL Givers post to (default: this Seeker's /channel)",
    ),
    Setting(
        "purge_after",
        WHOLE,
        flag="--purge-after",
        metavar="N",
        help="purge a Giver after N failed contacts in a row",
    ),
    Setting(
        "lease_grace_s",
        NUMBER,
        flag="--lease-grace-s",
        help="a lease lapses this long after its task's time limit",
    ),
    Setting(
        "leader_lease_s",
        NUMBER,
        flag="--leader-lease-s",
        help="with Seekers sharing a MongoDB state store: how long the leader's lease "
        "lasts unrenewed, so how soon another takes over",
    ),
    Setting(
        "public_url",
        TEXT,
        flag="--public-url",
        help="where others reach this Seeker, for Seekers standing by to name "
        "(default the address it listens on)",
    ),
    Setting(
        "trusted_fronts",
        TEXTS,
        flag="--trust-front",
        metavar="ADDRESS",
        help="the address or network (10.0.0.0/8) of a front or reverse proxy whose "
        "X-Forwarded-For/-Proto/-Host to believe; repeatable",
    ),
    Setting(
        "discover",
        SWITCH,
        flag="--discover",
        help="find Givers in LAN mode over mDNS and dial them (listen with --host 0.0.0.0 "
        "or an address they reach, so they can post results)",
    ),
    Setting(
        "discover_interfaces",
        TEXTS,
        flag="--discover-interface",
        metavar="IP",
        help="with --discover: browse on the interface with this address only; repeatable "
        "(default all)",
    ),
    Setting(
        "open_registration",
        SWITCH,
        flag="--open-registration",
        help="admit every Giver that registers, without a token or approval "
        "(for a demo on one machine; never on a network others reach)",
    ),
    Setting(
        "min_giver_version",
        TEXT,
        flag="--min-giver-version",
        metavar="RELEASE",
        help="refuse Givers of a seekgive release older than this (0.2.0, say), telling "
        "them to upgrade",
    ),
    Setting(
        "operator_token_file",
        PATH,
        flag="--operator-token-file",
        help="a file holding a fixed operator token (a deployment secret, say), accepted "
        "besides the tokens issued with `seeker operator token issue`",
    ),
    Setting(
        "docs_dir",
        PATH,
        flag="--docs-dir",
        help="the docs/ folder to serve at /docs, README.md beside it "
        "(default: the checkout's, if the Seeker runs from one)",
    ),
    Setting(
        "tail_copies",
        SWITCH,
        flag="--no-tail-copies",
        flag_sets=False,
        help="never copy a slow Giver's block near the end of a job",
    ),
)
# Settings that are no SeekerConfig field: read here, then turned into one.
TOKEN_FILE = "operator_token_file"
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(SeekerConfig)}


def add_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="run the Seeker daemon")
    add_flags(run, SETTINGS, describe)
    run.set_defaults(action=_run)


def describe(setting: Setting) -> str:
    """Where else the setting's value may come from, and its default if it reads as one."""
    env = f"env {setting.env(ENV_PREFIX)}"
    default = _DEFAULTS.get(setting.field or setting.key)
    if setting.kind is SWITCH or default in (None, "", ()):
        return env
    return f"{env}; default {default}"


def build_config(args: argparse.Namespace, environ: Mapping[str, str]) -> SeekerConfig:
    """The daemon's settings: flags first, then the environment, then SeekerConfig's
    defaults."""
    values = read_settings(SETTINGS, ENV_PREFIX, args, environ)
    if values.get("discover_interfaces") and not values.get("discover"):
        raise SeekerError("--discover-interface goes with --discover")
    token_file = values.pop(TOKEN_FILE, None)
    return SeekerConfig(**values, operator_token=_fixed_token(token_file))


def read_settings(
    settings: Sequence[Setting], prefix: str, args: argparse.Namespace, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The value of every setting the flags or the environment give, by config field;
    ConfigError naming the flag or variable of one that cannot be read."""
    try:
        return read_values(settings, prefix, args, environ, {})
    except OptionError as e:
        raise ConfigError(e.source, str(e)) from e


async def _run(args: argparse.Namespace) -> int:
    await run_until_signal(Seeker(build_config(args, os.environ)))
    return 0


def _fixed_token(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return read_secret(path)
    except SecretFileError as e:
        raise SeekerError(f"--operator-token-file: {e}") from e
