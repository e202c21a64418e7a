"""Where the Giver's settings come from: flags, then SEEKGIVE_GIVER_* environment
variables, then a TOML file, then GiverConfig's defaults.

Every setting is one `Setting` line in SETTINGS: its key in the TOML file (and,
upper-cased, in the environment), what kind of value it takes, and its flag if
it has one. The file is `--config FILE` (or SEEKGIVE_GIVER_CONFIG), else
`giver.toml` in the data dir when there is one. `locate` finds the data dir
and the file for every `giver` command alike, so `giver status` looks where
`giver run` keeps its data.
"""

import argparse
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from channel.files import SecretFileError, read_secret
from channel.options import (
    ADDRESS,
    BYTES,
    NUMBER,
    PATH,
    SWITCH,
    TEXT,
    TEXTS,
    WHOLE,
    Kind,
    OptionError,
    Setting,
    add_flags,
    read_values,
    source_of,
    typed,
)
from giver.errors import ConfigError, ConfigFileError
from giver.terms.config import GiverConfig
from giver.terms.hours import ActiveHours

ENV_PREFIX = "SEEKGIVE_GIVER_"
DATA_DIR_NAME = "seekgive-giver"
CONFIG_FILE = "giver.toml"


def parse_labels(items: Sequence[str]) -> dict[str, str]:
    """NAME=VALUE items as a mapping; whether they follow the label rules, GiverConfig checks."""
    labels: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise ValueError(f"label {item.strip()!r} is not NAME=VALUE")
        if name in labels:
            raise ValueError(f"label {name!r} is given twice")
        labels[name] = value.strip()
    return labels


def _hours_from_toml(value: Any) -> tuple[ActiveHours, ...]:
    windows = typed(list, 'a list of "HH:MM-HH:MM" strings')(value)
    return tuple(ActiveHours.parse(typed(str, '"HH:MM-HH:MM"')(w)) for w in windows)


def _labels_from_toml(value: Any) -> dict[str, str]:
    table = typed(dict, "a table of NAME = VALUE strings")(value)
    return {name: typed(str, f"a string (label {name})")(v) for name, v in table.items()}


HOURS = Kind(
    'a list of "HH:MM-HH:MM"',
    _hours_from_toml,
    lambda items: tuple(ActiveHours.parse(w) for w in items),
    many=True,
)
LABELS = Kind("a table of labels", _labels_from_toml, parse_labels, many=True)
PORTS = Kind(
    "a list of port numbers",
    lambda v: tuple(typed(int, "a port number")(p) for p in typed(list, "a list of ports")(v)),
    lambda items: tuple(int(i) if i.strip().isdigit() else i.strip() for i in items),
    many=True,
)

SETTINGS = (
    Setting("seeker", TEXT, "seeker_url", "--seeker", "the Seeker's URL, e.g. http://seeker:8765"),
    Setting(
        "lan",
        SWITCH,
        "",
        "--lan",
        "be found on the LAN instead: listen for the Seeker and advertise this Giver over mDNS",
    ),
    Setting(
        "listen",
        ADDRESS,
        "",
        "--listen",
        "with --lan: where the Seeker dials this Giver, HOST:PORT (default 0.0.0.0:0, any port)",
    ),
    Setting(
        "mdns_interfaces",
        TEXTS,
        "",
        "--mdns-interface",
        "with --lan: advertise on the interface with this IP only; repeatable (default all)",
    ),
    Setting(
        "token",
        TEXT,
        "",
        "--token",
        "an admission token from the Seeker's operator; without one the Giver waits "
        "until the operator approves it",
    ),
    Setting(
        "token_file",
        PATH,
        "",
        "--token-file",
        "a file holding the admission token instead, e.g. a Docker secret; only its owner "
        "may read it (chmod 600)",
    ),
    Setting(
        "seeker_key",
        TEXT,
        "",
        "--seeker-key",
        "the public key the Seeker signs tasks with, as `seeker id` prints it "
        "(default: pin the key it names at first contact)",
    ),
    Setting(
        "allowed_images",
        TEXTS,
        "",
        "--allow-image",
        "an image tasks may run: a repository (seekgive/catalog), a namespace (seekgive/*) "
        "or a digest (sha256:...); repeatable (default: any image present here)",
    ),
    Setting(
        "max_image",
        BYTES,
        "max_image_bytes",
        "--max-image",
        "the largest image archive to fetch from the Seeker for a task it lacks, e.g. 2GiB; "
        "0: fetch none, run only images present here (default 4GiB)",
    ),
    Setting(
        "allow_host_network",
        SWITCH,
        "",
        "--allow-host-network",
        "let tasks that ask for it share this machine's network, reaching everything it "
        "reaches (default: such tasks are refused, and scrapers go out only through the "
        "egress gateway)",
    ),
    Setting(
        "allow_hosts",
        TEXTS,
        "",
        "--allow-host",
        "a host scrapers may reach, example.com or *.example.com; repeatable "
        "(default: any public host)",
    ),
    Setting(
        "deny_hosts",
        TEXTS,
        "",
        "--deny-host",
        "a host scrapers may never reach, example.com or *.example.com; repeatable",
    ),
    Setting(
        "allow_local",
        TEXTS,
        "",
        "--allow-local",
        "an address of this machine or its network scrapers may reach anyway, "
        "ADDRESS[:PORT] or a network, e.g. 127.0.0.1:8080 or 192.168.1.0/24; repeatable "
        "(default: none)",
    ),
    Setting(
        "allow_ports",
        PORTS,
        "",
        "--allow-port",
        "a port scrapers may reach on public hosts; repeatable, and replaces the default "
        "80 and 443 (list them too to keep them); a listed local address is reached on "
        "its own port",
    ),
    Setting(
        "traffic_per_day",
        BYTES,
        "traffic_day_bytes",
        "--traffic-per-day",
        "the most traffic (up and down, scrapers, images and results) in a local day, "
        "e.g. 2GiB; then tasks that need the network wait for the next day",
    ),
    Setting(
        "traffic_per_month",
        BYTES,
        "traffic_month_bytes",
        "--traffic-per-month",
        "the most traffic in a calendar month, e.g. 50GiB",
    ),
    Setting(
        "upload_rate",
        BYTES,
        "upload_rate_bytes",
        "--upload-rate",
        "the most bytes per second sent (scrapers and results), e.g. 512KiB",
    ),
    Setting(
        "download_rate",
        BYTES,
        "download_rate_bytes",
        "--download-rate",
        "the most bytes per second received (scrapers and images), e.g. 2MiB",
    ),
    Setting("name", TEXT, "", "--name", "name shown to the Seeker (default the host name)"),
    Setting("slots", WHOLE, "", "--slots", "containers to run at once (default 2)"),
    Setting(
        "labels",
        LABELS,
        "",
        "--label",
        "a fact about this machine for the Seeker, e.g. region=eu; repeatable, replaces "
        "the labels of the environment (NAME=VALUE,...) and the file (a table)",
    ),
    Setting(
        "volunteer",
        TEXT,
        "",
        "--volunteer",
        "who lends this machine: Givers of one volunteer never get two copies of a block",
    ),
    Setting("cpus", NUMBER, "cpus_cap", "--cpus", "CPUs all containers may use in total"),
    Setting("memory", BYTES, "memory_cap_bytes", "--memory", "memory of all containers, e.g. 4GiB"),
    Setting(
        "disk", BYTES, "disk_cap_bytes", "--disk", "results kept waiting for upload, e.g. 1GiB"
    ),
    Setting(
        "active_hours",
        HOURS,
        "",
        "--active-hours",
        "take tasks only in this local-time window, e.g. 22:00-07:00; repeatable",
    ),
    Setting(
        "drain_grace_s",
        NUMBER,
        "",
        "--drain-grace-s",
        "on SIGTERM, how long running tasks may finish (default 30)",
    ),
    Setting("progress_interval_s", NUMBER),
    Setting("reconnect_max_s", NUMBER),
    Setting("outbox_retry_max_s", NUMBER),
    Setting("report_interval_s", NUMBER),
)
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
