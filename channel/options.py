"""Options of a daemon, each written once in a table: its flag, its environment
variable, its key in a settings file, and the kind of value it takes. The Giver
(giver.terms.settings) and the Seeker (seeker.cli.run) read theirs through this.

A value comes from the first source that has it: the flag, then the
environment variable (PREFIX + the key in upper case), then the file; with
none, the daemon's config dataclass keeps its default. A value that cannot be
read raises OptionError naming where it came from.

May import: nothing.
"""

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?", re.IGNORECASE)
SIZE_UNITS = {
    "b": 1,
    **{f"{p}b": 1000 ** (i + 1) for i, p in enumerate("kmgt")},
    **{f"{p}ib": 1024 ** (i + 1) for i, p in enumerate("kmgt")},
}


class OptionError(ValueError):
    """A value that cannot be read; `source` is the flag, variable or file key it came
    from."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.source = source


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of value: `what` it must be (for errors), how to read it from TOML, and
    from text (a flag or variable; for `many` kinds a list of items, which the
    environment separates with commas). Readers raise ValueError saying what is wrong."""

    what: str
    from_toml: Callable[[Any], Any]
    from_text: Callable[[Any], Any]
    many: bool = False


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: `key` in the settings file (PREFIX<KEY> in the environment), the
    config `field` it sets (the key if empty), and its `flag` if any. A switch's flag
    sets `flag_sets` (False for a `--no-…` flag); `metavar` names a flag's value
    (argparse's default when empty)."""

    key: str
    kind: Kind
    field: str = ""
    flag: str = ""
    help: str = ""
    flag_sets: bool = True
    metavar: str = ""

    def env(self, prefix: str) -> str:
        return prefix + self.key.upper()


def parse_size(text: str) -> int:
    """Bytes in "4GiB", "512MiB", "2GB" or "1048576"."""
    match = SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size such as 512MiB or 4GiB")
    return int(float(match[1]) * SIZE_UNITS[(match[2] or "b").lower()])


def parse_address(text: str) -> tuple[str, int]:
    """("10.0.0.2", 7777) from "10.0.0.2:7777" ("[::1]:7777" for IPv6)."""
    host, colon, port = text.strip().rpartition(":")
    if not colon or not host or not port.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _switch_from_toml(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _switch_from_text(value: str | bool) -> bool:
    """A flag given (its value), or an environment variable's 1/true/yes or 0/false/no."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError(f"must be 1, true, yes, 0, false or no, got {value!r}")
    return text in ("1", "true", "yes")


def typed(kinds: type | tuple[type, ...], what: str) -> Callable[[Any], Any]:
    """A reader of TOML values that takes only `kinds` (never a bool for a number)."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ValueError(f"must be {what}, got {value!r}")
        return value

    return check


def _text_as(convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def read(text: str) -> Any:
        try:
            return convert(text.strip())
        except ValueError as e:
            raise ValueError(f"must be {what}, got {text!r}") from e

    return read


def _size_from_toml(value: Any) -> int:
    return parse_size(value) if isinstance(value, str) else typed(int, "a size")(value)


TEXT = Kind("a string", typed(str, "a string"), str)
WHOLE = Kind("a whole number", typed(int, "a whole number"), _text_as(int, "a whole number"))
NUMBER = Kind(
    "a number",
    lambda v: float(typed((int, float), "a number")(v)),
    _text_as(float, "a number"),
)
BYTES = Kind("a size", _size_from_toml, parse_size)
SWITCH = Kind("true or false", _switch_from_toml, _switch_from_text)
ADDRESS = Kind("HOST:PORT", lambda v: parse_address(typed(str, "HOST:PORT")(v)), parse_address)
PATH = Kind("a path", lambda v: Path(typed(str, "a path")(v)), lambda text: Path(text.strip()))
TEXTS = Kind(
    "a list of strings",
    lambda v: tuple(typed(str, "a string")(i) for i in typed(list, "a list of strings")(v)),
    lambda items: tuple(i.strip() for i in items),
    many=True,
)


def add_flags(
    parser: argparse.ArgumentParser,
    settings: Sequence[Setting],
    describe: Callable[[Setting], str],
    *,
    metavar: str | None = None,
) -> None:
    """A flag for every setting that has one; `describe(setting)` ends its help (where
    else the value may come from, its default) and `metavar` names the values of
    settings that name none. The flags default to None: a value not given on the
    command line comes from the other sources."""
    for setting in settings:
        if not setting.flag:
            continue
        help = f"{setting.help} ({describe(setting)})"
        if setting.kind is SWITCH:
            parser.add_argument(
                setting.flag,
                dest=setting.key,
                action="store_const",
                const=setting.flag_sets,
                help=help,
            )
        else:
            parser.add_argument(
                setting.flag,
                dest=setting.key,
                action="append" if setting.kind.many else "store",
                metavar=setting.metavar or metavar,
                help=help,
            )


def read_values(
    settings: Sequence[Setting],
    prefix: str,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    table: Mapping[str, Any],
) -> dict[str, Any]:
    """The value of every setting some source gives, by config field."""
    values: dict[str, Any] = {}
    for setting in settings:
        found = _value(setting, prefix, args, environ, table)
        if found is not None:
            values[setting.field or setting.key] = found
    return values


def _value(
    setting: Setting,
    prefix: str,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    table: Mapping[str, Any],
) -> Any:
    """The setting's value from the first source that has it, or None."""
    kind = setting.kind
    source = source_of(setting, prefix, args, environ, table)
    if source is None:
        return None
    try:
        if source == setting.flag:
            return kind.from_text(getattr(args, setting.key))
        if source == setting.env(prefix):
            env_value = environ[source].strip()
            if kind.many:
                return kind.from_text([i for i in env_value.split(",") if i.strip()])
            return kind.from_text(env_value)
        return kind.from_toml(table[setting.key])
    except ValueError as e:
        raise OptionError(source, str(e)) from e


def source_of(
    setting: Setting,
    prefix: str,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    table: Mapping[str, Any],
) -> str | None:
    """Where the setting's value comes from: its flag, its environment variable or its
    file key, the first that gives one; None if none does."""
    if setting.flag and getattr(args, setting.key, None) is not None:
        return setting.flag
    if environ.get(setting.env(prefix), "").strip():
        return setting.env(prefix)
    return setting.key if setting.key in table else None
