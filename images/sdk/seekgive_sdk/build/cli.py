"""The ``seekgive-sdk`` command: ``seekgive-sdk build [DIRECTORY]``."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from seekgive_sdk.version import CONTRACT_VERSION, __version__

from .errors import BuildError
from .image import DEFAULT_LABELS_TIMEOUT_S, WHEELS_IN_CONTEXT, Built, build

PROGRAM = "seekgive-sdk"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: the process's); return the exit code."""
    args = _parser().parse_args(argv)
    build_args = dict(args.build_arg)
    if args.base_image is not None:
        build_args["BASE_IMAGE"] = args.base_image
    try:
        built = build(
            args.directory,
            tag=args.tag,
            build_args=build_args,
            wheels=args.wheels,
            labels_timeout_s=args.labels_timeout,
        )
    except BuildError as e:
        if e.details:
            print(e.details, file=sys.stderr)
        print(f"{PROGRAM} build: {e.message}", file=sys.stderr)
        return 1
    print(describe(built))
    return 0


def describe(built: Built) -> str:
    """The line that says what was built."""
    return f"built {built.tag} ({built.image_id[:19]}, {built.settings} settings)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description=f"seekgive scraper SDK {__version__} (contract {CONTRACT_VERSION})",
    )
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = commands.add_parser(
        "build",
        help="build a scraper image with its labels",
        description=(
            "Build the Dockerfile in DIRECTORY, run the image once (sandboxed, without network) "
            "with the argument `labels`, build it again with those labels and tag it."
        ),
    )
    command.add_argument(
        "directory", nargs="?", type=Path, default=Path("."), metavar="DIRECTORY",
        help="the directory holding the Dockerfile, the build context (default: .)",
    )  # fmt: skip
    command.add_argument(
        "-t", "--tag", help="the image's tag (default: seekgive/NAME:CONTRACT, from the labels)"
    )
    command.add_argument(
        "--base-image", metavar="IMAGE", help="the same as --build-arg BASE_IMAGE=IMAGE"
    )
    command.add_argument(
        "--build-arg", type=_build_arg, action="append", default=[], metavar="NAME=VALUE",
        help="a build argument for docker build (repeatable)",
    )  # fmt: skip
    command.add_argument(
        "--wheels", type=Path, metavar="DIR",
        help=(
            f"a directory of wheels, copied into the build context as {WHEELS_IN_CONTEXT}/ "
            "for a Dockerfile that installs from it (where no package index is reachable)"
        ),
    )  # fmt: skip
    command.add_argument(
        "--labels-timeout", type=_positive, default=DEFAULT_LABELS_TIMEOUT_S, metavar="SECONDS",
        help=f"how long `labels` may take (default {DEFAULT_LABELS_TIMEOUT_S:g})",
    )  # fmt: skip
    return parser


def _build_arg(value: str) -> tuple[str, str]:
    name, equals, setting = value.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE")
    return name, setting


def _positive(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0")
    return seconds
