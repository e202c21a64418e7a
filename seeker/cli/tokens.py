"""Tokens from the command line, written once for every kind: `seeker token`
(admission tokens that let Givers in), `seeker reader` (reader tokens for the
Channel) and `seeker operator token` each issue, list and revoke through
`add_token_commands`."""

import argparse
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from seeker.cli.client import ADMISSION, READER, SeekerClient, Tokens
from seeker.cli.options import connect
from seeker.views.display import duration_s, moment, print_list


def _no_options(parser: argparse.ArgumentParser) -> None:
    """A kind of token whose issue command takes only --label and --expires-in."""


def _no_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class TokenCommands:
    """How one kind of token reads on the command line. `options` adds the flags of
    its issue command beyond --label and --expires-in, and `fields` reads them into
    the request; `line` shows a token in the list; `use` says how an issued token
    is used, printed once beside it; `force_help`, for a kind whose revoke may
    need insisting, is the help of revoke's --force."""

    kind: Tokens
    title: str
    issue_help: str
    list_help: str
    revoke_help: str
    label_help: str
    expires_help: str
    line: Callable[[dict[str, Any]], str]
    use: Callable[[dict[str, Any]], str]
    options: Callable[[argparse.ArgumentParser], None] = _no_options
    fields: Callable[[argparse.Namespace], dict[str, Any]] = field(default=_no_fields)
    force_help: str = ""


def add_token_commands(commands: Any, spec: TokenCommands, *, dest: str) -> None:
    """`issue`, `list` and `revoke` of one kind of token under `commands`."""
    token_commands = commands.add_subparsers(dest=dest, required=True)
    issue = token_commands.add_parser("issue", help=spec.issue_help)
    connect(issue)
    spec.options(issue)
    issue.add_argument("--label", default="", help=spec.label_help)
    issue.add_argument("--expires-in", type=duration_s, metavar="DURATION", help=spec.expires_help)
    issue.set_defaults(action=_runs(_issue, spec))
    listing = token_commands.add_parser("list", help=spec.list_help)
    connect(listing)
    listing.set_defaults(action=_runs(_list, spec))
    revoke = token_commands.add_parser("revoke", help=spec.revoke_help)
    connect(revoke)
    revoke.add_argument("token_id")
    if spec.force_help:
        revoke.add_argument("--force", action="store_true", help=spec.force_help)
    revoke.set_defaults(action=_runs(_revoke, spec), force=False)


def _runs(
    command: Callable[[argparse.Namespace, TokenCommands], Awaitable[int]], spec: TokenCommands
) -> Callable[[argparse.Namespace], Awaitable[int]]:
    async def run(args: argparse.Namespace) -> int:
        return await command(args, spec)

    return run


async def _issue(args: argparse.Namespace, spec: TokenCommands) -> int:
    body: dict[str, Any] = {**spec.fields(args), "label": args.label}
    if args.expires_in is not None:
        body["expires_in_s"] = args.expires_in
    async with SeekerClient(args.seeker, token=args.token) as client:
        issued = await client.issue_token(body, spec.kind)
    print(issued["token"])
    print(spec.use(issued), file=sys.stderr)
    return 0


async def _list(args: argparse.Namespace, spec: TokenCommands) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        tokens = await client.tokens(spec.kind)
    print_list(spec.title, tokens, spec.line)
    return 0


async def _revoke(args: argparse.Namespace, spec: TokenCommands) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        print(spec.line(await client.revoke_token(args.token_id, spec.kind, force=args.force)))
    return 0


def add_commands(commands: Any) -> None:
    """`seeker token` and `seeker reader`."""
    token = commands.add_parser("token", help="admission tokens that let Givers in")
    add_token_commands(token, ADMISSION_TOKENS, dest="token_command")
    reader = commands.add_parser(
        "reader", help="reader tokens that let people read jobs and datasets from the Channel"
    )
    add_token_commands(reader, READER_TOKENS, dest="reader_command")


def admission_line(token: dict[str, Any]) -> str:
    created, expires = moment(token["created_at"]), moment(token["expires_at"])
    uses = f"{token['uses']}/{token['max_uses']}" if token["max_uses"] else str(token["uses"])
    label = f" {token['label']!r}" if token["label"] else ""
    return (
        f"{token['token_id']} {token['state']}{label}: "
        f"created {created}, expires {expires}, {uses} use(s)"
    )


def _admission_options(issue: argparse.ArgumentParser) -> None:
    issue.add_argument(
        "--uses", type=int, metavar="N", help="it admits at most N Givers (default any number)"
    )


def _admission_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {} if args.uses is None else {"uses": args.uses}


ADMISSION_TOKENS = TokenCommands(
    kind=ADMISSION,
    title="tokens",
    issue_help="issue a token and print it (only now)",
    list_help="list tokens and their state",
    revoke_help="a token admits no one from now on (Givers it admitted stay)",
    label_help="what the token is for, shown in the list",
    expires_help="it admits no one after this long: 90s, 30m, 12h, 7d (default never)",
    line=admission_line,
    use=lambda issued: (
        f"token {issued['token_id']}: shown only now; Givers use it with "
        "`giver run --token TOKEN` (or SEEKGIVE_GIVER_TOKEN)"
    ),
    options=_admission_options,
    fields=_admission_fields,
)


def reader_line(reader: dict[str, Any]) -> str:
    created, expires = moment(reader["created_at"]), moment(reader["expires_at"])
    expired = reader["expires_at"] is not None and reader["expires_at"] <= time.time()
    state = "revoked" if reader["revoked"] else "expired" if expired else "valid"
    label = f" {reader['label']!r}" if reader["label"] else ""
    scope = [f"job {j}" for j in reader["jobs"]] + [f"dataset {d}" for d in reader["datasets"]]
    if reader["upload"]:
        scope.append("upload")
    return (
        f"{reader['token_id']} {state}{label}: {', '.join(scope)}; "
        f"created {created}, expires {expires}"
    )


def _reader_options(issue: argparse.ArgumentParser) -> None:
    issue.add_argument(
        "--job", action="append", default=[], metavar="JOB", help="a job it may read (* for all)"
    )
    issue.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        help="a dataset it may read (* for all)",
    )
    issue.add_argument(
        "--upload", action="store_true", help="it may upload datasets (and read its own)"
    )


def _reader_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {"jobs": args.job, "datasets": args.dataset, "upload": args.upload}


READER_TOKENS = TokenCommands(
    kind=READER,
    title="readers",
    issue_help="issue a reader token (shown only now)",
    list_help="list reader tokens",
    revoke_help="a reader token reads nothing more",
    label_help="who or what it is for",
    expires_help="it reads nothing after this long: 90s, 30m, 12h, 7d (default never)",
    line=reader_line,
    use=lambda issued: (
        f"reader {issued['token_id']}: shown only now; send it to the Channel as "
        "`Authorization: Bearer TOKEN`"
    ),
    options=_reader_options,
    fields=_reader_fields,
)
