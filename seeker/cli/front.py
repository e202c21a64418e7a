"""`seeker front`: one address in front of Seekers sharing a state store, forwarding
to whichever leads (seeker.front), with its options read from one table.

Every option is one `Setting` in SETTINGS: its flag, its environment variable
(SEEKGIVE_FRONT_<KEY>) and the FrontConfig field it sets; FrontConfig holds the
defaults, which the flags' help shows.
"""

import argparse
import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from channel.lifecycle import run_until_signal
from channel.options import (
    NUMBER,
    TEXTS,
    Setting,
    add_flags,
    source_of,
)
from seeker.cli.run import LISTENING, read_settings
from seeker.errors import ConfigError
from seeker.front.config import FrontConfig
from seeker.front.daemon import Front

ENV_PREFIX = "SEEKGIVE_FRONT_"
SETTINGS = (
    *LISTENING,
    Setting(
        "upstreams",
        TEXTS,
        flag="--upstream",
        metavar="URL",
        help="a Seeker to forward to when it leads; repeatable, one for each Seeker "
        "sharing the state store, in order of preference",
    ),
    Setting(
        "check_interval_s",
        NUMBER,
        flag="--check-interval-s",
        help="how often to ask every Seeker who leads",
    ),
)
_DEFAULTS = {
    f.name: f.default
    for f in dataclasses.fields(FrontConfig)
    if f.default is not dataclasses.MISSING
}


def add_commands(commands: Any) -> None:
    front = commands.add_parser(
        "front", help="forward to whichever of several Seekers leads, at one address"
    )
    add_flags(front, SETTINGS, _describe)
    front.set_defaults(action=_run)


def _describe(setting: Setting) -> str:
    env = f"env {setting.env(ENV_PREFIX)}"
    if setting.key not in _DEFAULTS:
        return f"{env}, comma-separated; required"
    return f"{env}; default {_DEFAULTS[setting.key]}"


def build_config(args: argparse.Namespace, environ: Mapping[str, str]) -> FrontConfig:
    """The front's settings: flags first, then the environment, then FrontConfig's
    defaults."""
    values = read_settings(SETTINGS, ENV_PREFIX, args, environ)
    if "upstreams" not in values:
        upstreams = next(s for s in SETTINGS if s.key == "upstreams")
        raise ConfigError(
            f"{upstreams.flag} or {upstreams.env(ENV_PREFIX)}",
            "name the Seekers to forward to, each by its URL",
        )
    try:
        return FrontConfig(**values)
    except ConfigError as e:
        # Named as the user gave it: the flag or the variable.
        setting = next(s for s in SETTINGS if s.key == e.name)
        source = source_of(setting, ENV_PREFIX, args, environ, {}) or e.name
        raise ConfigError(source, str(e).removeprefix(f"{e.name}: ")) from e


async def _run(args: argparse.Namespace) -> int:
    await run_until_signal(Front(build_config(args, os.environ)))
    return 0
