"""What every bench shares as a command: `--json`, `--smoke`, and how it stops.

`--json` ends the output with one line: a JSON object of the figures, nothing
after it. `--smoke` runs the bench's whole code path (the same functions, the
same stores and processes) at tiny sizes, in seconds: a check that the bench
still works, whose figures measure nothing; options given on the command line
still win over its sizes, and its JSON says `"smoke": true`.

A bench stops on SIGTERM as on Ctrl-C, with KeyboardInterrupt, so that it stops
what it started; SIGINT counts even if the bench was started ignoring it (a
background job of a shell without job control, `nohup`), and so the processes
the bench starts stop on it too.
"""

import argparse
import json
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# An option's value before parsing: still there after, the option was not given.
_NOT_GIVEN = object()


def parse(
    parser: argparse.ArgumentParser,
    smoke: Mapping[str, Any],
    argv: Sequence[str] | None = None,
) -> argparse.Namespace:
    """Add `--json` and `--smoke` to `parser` and parse `argv`; with `--smoke`, each
    option named in `smoke` (by its dest) that `argv` does not give takes the value
    there. SIGTERM and SIGINT raise KeyboardInterrupt from here on."""
    parser.add_argument("--json", action="store_true", help="end with a JSON object")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes: the whole code path in seconds, figures that measure nothing "
        "(options given still win)",
    )
    args = parser.parse_args(argv)
    unknown = set(smoke) - set(vars(args))
    if unknown:
        raise ValueError(f"smoke sizes for options the bench lacks: {sorted(unknown)}")
    if args.smoke:
        given = parser.parse_args(argv, argparse.Namespace(**dict.fromkeys(smoke, _NOT_GIVEN)))
        for dest, value in smoke.items():
            if getattr(given, dest) is _NOT_GIVEN:
                setattr(args, dest, value)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return args


def print_figures(args: argparse.Namespace, figures: Mapping[str, Any]) -> None:
    """With `--json`, the figures as the output's last line."""
    if args.json:
        print(json.dumps({"smoke": True, **figures} if args.smoke else dict(figures)), flush=True)


def count_label(count: int) -> str:
    """A count as it goes into a figure's name: 1m, 20k, 1500."""
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000}m"
    if count % 1000 == 0:
        return f"{count // 1000}k"
    return str(count)


def run(name: str, bench: Callable[[], int], *errors: type[Exception]) -> int:
    """Run `bench` as the command `name`: its exit code; 130 if interrupted, 1 with
    one line on stderr for any of `errors`."""
    try:
        return bench()
    except KeyboardInterrupt:
        print(f"{name}: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    except errors as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1
