"""Where the Giver's settings come from: flags, then SEEKGIVE_GIVER_* environment
variables, then a TOML file, then GiverConfig's defaults.

Which settings there are is giver.terms.table's SETTINGS. The file is
`--config FILE` (or SEEKGIVE_GIVER_CONFIG), else `giver.toml` in the data dir
when there is one. `locate` finds the data dir and the file for every `giver`
command alike, so `giver status` looks where `giver run` keeps its data.
"""

import argparse
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from channel.files import SecretFileError, read_secret
from channel.options import (
    TEXT,
    OptionError,
    add_flags,
    read_values,
    source_of,
)
from giver.errors import ConfigError, ConfigFileError
from giver.terms.config import GiverConfig
from giver.terms.table import ENV_PREFIX, SETTINGS

DATA_DIR_NAME = "seekgive-giver"
CONFIG_FILE = "giver.toml"


# Keys the file may hold besides SETTINGS: where the data dir is.
DATA_DIR_KEY = "data_dir"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """$XDG_DATA_HOME/seekgive-giver, or ~/.local/share/seekgive-giver."""
    xdg = environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / DATA_DIR_NAME


@dataclass(frozen=True, slots=True)
class Located:
    """Where a Giver's settings are: its data dir, and the TOML file read (None if
    there is none) with what it holds."""

    data_dir: Path
    file: Path | None = None
    table: Mapping[str, Any] = field(default_factory=dict)


def locate(args: argparse.Namespace, environ: Mapping[str, str]) -> Located:
    """The data dir and the settings file, found as every `giver` command finds them.

    The data dir is the one --data-dir or SEEKGIVE_GIVER_DATA_DIR names, else the
    `data_dir` of the file --config or SEEKGIVE_GIVER_CONFIG names (relative to
    that file), else the default. The file is the one named, else giver.toml in
    the data dir if there is one; `data_dir` in that one is refused, not ignored.
    """
    chosen = args.data_dir or environ.get(f"{ENV_PREFIX}DATA_DIR")
    directory = Path(chosen).expanduser().resolve() if chosen else None
    named = getattr(args, "config", None) or environ.get(f"{ENV_PREFIX}CONFIG")
    if named:
        file = Path(named).expanduser().resolve()
        table = read_file(file)
        if directory is None and DATA_DIR_KEY in table:
            try:
                value = TEXT.from_toml(table[DATA_DIR_KEY])
            except ValueError as e:
                raise ConfigFileError(file, DATA_DIR_KEY, str(e)) from e
            # Relative to the file, not to wherever `giver` was started.
            directory = (file.parent / Path(value).expanduser()).resolve()
        return Located(directory or default_data_dir(environ), file, table)
    directory = directory or default_data_dir(environ)
    file = directory / CONFIG_FILE
    if not file.is_file():
        return Located(directory)
    table = read_file(file)
    if DATA_DIR_KEY in table:
        raise ConfigFileError(
            file,
            DATA_DIR_KEY,
            "this file is in the data dir already; name the data dir in a file given with "
            f"--config (or {ENV_PREFIX}CONFIG), or with --data-dir",
        )
    return Located(directory, file, table)


def add_run_flags(run: argparse.ArgumentParser) -> None:
    """The flags of `giver run` for every setting that has one."""
    add_flags(
        run, SETTINGS, lambda s: f"env {s.env(ENV_PREFIX)}, file key {s.key}", metavar="VALUE"
    )


def build_config(args: argparse.Namespace, environ: Mapping[str, str]) -> GiverConfig:
    """The daemon's settings: flags first, then the environment, then the file, then defaults."""
    located = locate(args, environ)
    file, table = located.file, located.table
    try:
        values = read_values(SETTINGS, ENV_PREFIX, args, environ, table)
    except OptionError as e:
        if file is not None and e.source in table:
            raise ConfigFileError(file, e.source, str(e)) from e
        raise ConfigError(e.source, str(e)) from e
    _check_mode(values, file)
    if "token_file" in values:
        values["token"] = _token_from_file(values, args, environ, located)
    try:
        return GiverConfig(
            seeker_url=values.pop("seeker_url", ""), data_dir=located.data_dir, **values
        )
    except ConfigError as e:
        # Named as the volunteer gave it (flag, variable or file key), not as a field.
        given = next((s for s in SETTINGS if (s.field or s.key) == e.name), None)
        if given is None or type(e) is not ConfigError:
            raise
        source = source_of(given, ENV_PREFIX, args, environ, table)
        if source == given.key and file is not None:
            raise ConfigFileError(file, given.key, e.message) from e
        raise ConfigError(source or given.key, e.message) from e


def _check_mode(values: Mapping[str, Any], file: Path | None) -> None:
    """A Giver dials a Seeker URL, or (`lan`) waits on the LAN to be dialled: one of the two."""
    if values.get("lan"):
        if "seeker_url" in values:
            raise ConfigError(
                "lan", "in LAN mode the Seeker dials this Giver: give no --seeker URL"
            )
        return
    if "seeker_url" not in values:
        in_file = f", or seeker in {file}" if file is not None else ""
        raise ConfigError(
            "seeker",
            f"give --seeker URL (or set {ENV_PREFIX}SEEKER{in_file}), or --lan to be found",
        )
    if "listen" in values or "mdns_interfaces" in values:
        raise ConfigError("lan", "--listen and --mdns-interface go with --lan")


def _token_from_file(
    values: dict[str, Any], args: argparse.Namespace, environ: Mapping[str, str], located: Located
) -> str:
    """The token in the file `token_file` names (a path in the settings file is
    relative to that file); refused along with a `token` given outright."""
    setting = next(s for s in SETTINGS if s.key == "token_file")
    given = source_of(setting, ENV_PREFIX, args, environ, located.table) or setting.key
    if "token" in values:
        raise ConfigError(given, "give the token or a token file, not both; drop one")
    path = values.pop("token_file").expanduser()
    if given == setting.key and located.file is not None:
        path = located.file.parent / path
    try:
        return read_secret(path)
    except SecretFileError as e:
        raise ConfigError(given, str(e)) from e


def read_file(file: Path) -> dict[str, Any]:
    """The file's table, after checking every key in it is a setting."""
    try:
        with open(file, "rb") as f:
            table = tomllib.load(f)
    except OSError as e:
        raise ConfigFileError(file, "", f"cannot read it: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigFileError(file, "", f"not valid TOML: {e}") from e
    known = [s.key for s in SETTINGS] + [DATA_DIR_KEY]
    for key in table:
        if key not in known:
            raise ConfigFileError(file, key, f"unknown setting (known: {', '.join(known)})")
    return table
