"""`seeker`: run the Seeker daemon, submit and steer jobs, export results and state.

Every command but `run` talks to a Seeker's JSON API as an operator; each group
of commands is a module of its own here, added to the parser in `parser()`.
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

from channel.errors import ChannelError
from channel.lifecycle import configure_logging
from seeker.cli import givers, jobs, operator, run, schedules, scrapers, submit, tokens
from seeker.errors import ApiError, SeekerError

DEFAULT_SEEKER_URL = "http://127.0.0.1:8765"
TOKEN_ENV = "SEEKGIVE_TOKEN"
DEFAULT_TOKEN_FILE = Path("seeker-data") / "operator.token"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        args.token = operator_token(os.environ.get(TOKEN_ENV, ""), args.token_file)
        return asyncio.run(args.action(args))
    except BrokenPipeError:
        # The reader went away (`seeker status | head`): nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ApiError as e:
        print(f"seeker: error: {e}", file=sys.stderr)
        if e.status == 401:
            print(
                f"seeker: this command sends the operator token in {TOKEN_ENV}, "
                f"--token-file or {DEFAULT_TOKEN_FILE}",
                file=sys.stderr,
            )
        return 1
    except (SeekerError, ChannelError, OSError) as e:
        print(f"seeker: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def operator_token(from_env: str, token_file: Path | None) -> str:
    """The operator token to send: from the environment, else from `token_file`,
    else from the default Seeker's data dir if it is there; "" for none."""
    if from_env.strip():
        return from_env.strip()
    path = token_file
    if path is None:
        if not DEFAULT_TOKEN_FILE.is_file():
            return ""
        path = DEFAULT_TOKEN_FILE
    try:
        return path.read_text().strip()
    except OSError as e:
        raise SeekerError(f"cannot read the operator token from {path}: {e.strerror}") from e


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seeker", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--seeker",
        default=os.environ.get("SEEKGIVE_SEEKER", DEFAULT_SEEKER_URL),
        help="the Seeker's URL (env SEEKGIVE_SEEKER; default %(default)s)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help=f"a file holding the operator token (or env {TOKEN_ENV}; default "
        f"{DEFAULT_TOKEN_FILE} if it exists, which `seeker run` writes at first start)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    # --seeker goes before or after the subcommand; after wins.
    url = {"default": argparse.SUPPRESS, "help": "the Seeker's URL (env SEEKGIVE_SEEKER)"}
    for group in (run, submit, jobs, givers, scrapers, tokens, schedules, operator):
        group.add_commands(commands, url)
    return parser
