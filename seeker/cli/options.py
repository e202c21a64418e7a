"""The options of every command that talks to a Seeker: which Seeker (`--seeker`,
or SEEKGIVE_SEEKER) and the operator token it sends (SEEKGIVE_TOKEN, or
`--token-file`, or the file a Seeker beside the command wrote). Both go before
the subcommand or after it; after wins."""

import argparse
import os
from pathlib import Path

from channel.files import SecretFileError, read_secret
from seeker.errors import SeekerError

DEFAULT_SEEKER_URL = "http://127.0.0.1:8765"
TOKEN_ENV = "SEEKGIVE_TOKEN"
DEFAULT_TOKEN_FILE = Path("seeker-data") / "operator.token"
SEEKER_HELP = "the Seeker's URL (env SEEKGIVE_SEEKER)"
TOKEN_FILE_HELP = f"a file holding the operator token (instead of env {TOKEN_ENV})"


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """`--seeker` and `--token-file` before the subcommand, with their defaults."""
    parser.add_argument(
        "--seeker",
        default=os.environ.get("SEEKGIVE_SEEKER", DEFAULT_SEEKER_URL),
        metavar="URL",
        help=f"{SEEKER_HELP.removesuffix(')')}; default %(default)s)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=f"{TOKEN_FILE_HELP}; default {DEFAULT_TOKEN_FILE} if it exists, which "
        "`seeker run` writes at first start",
    )


def connect(parser: argparse.ArgumentParser) -> None:
    """`--seeker` and `--token-file` after a subcommand: given there, they win over
    the same options before it."""
    parser.add_argument("--seeker", default=argparse.SUPPRESS, metavar="URL", help=SEEKER_HELP)
    parser.add_argument(
        "--token-file", type=Path, default=argparse.SUPPRESS, metavar="FILE", help=TOKEN_FILE_HELP
    )


def operator_token(from_env: str, token_file: Path | None) -> str:
    """The operator token to send: from `token_file` if given, else from the
    environment, else from the default Seeker's data dir if it is there; "" for
    none."""
    path = token_file
    if path is None:
        if from_env.strip():
            return from_env.strip()
        if not DEFAULT_TOKEN_FILE.is_file():
            return ""
        path = DEFAULT_TOKEN_FILE
    try:
        return read_secret(path)
    except SecretFileError as e:
        raise SeekerError(str(e)) from e
