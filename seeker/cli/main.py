"""`seeker`: run the Seeker daemon, submit and steer jobs, export results and state.

Every command but `run`, `front`, `backup` and `restore` talks to a Seeker's JSON
API as an operator; each group of commands is a module of its own here, added to
the parser in `parser()`.
"""

import argparse
import asyncio
import os
import sys

from channel.errors import ChannelError
from channel.lifecycle import configure_logging
from seeker.cli import (
    backup,
    front,
    givers,
    jobs,
    operator,
    replay,
    run,
    schedules,
    scrapers,
    submit,
    tokens,
)
from seeker.cli.options import DEFAULT_TOKEN_FILE, TOKEN_ENV, add_global_options, operator_token
from seeker.errors import ApiError, SeekerError


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
                f"seeker: this command sends the operator token in --token-file, {TOKEN_ENV} "
                f"or {DEFAULT_TOKEN_FILE}",
                file=sys.stderr,
            )
        return 1
    except (SeekerError, ChannelError, OSError) as e:
        print(f"seeker: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seeker", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (
        run,
        front,
        submit,
        jobs,
        replay,
        givers,
        scrapers,
        tokens,
        schedules,
        operator,
        backup,
    ):
        group.add_commands(commands)
    return parser
