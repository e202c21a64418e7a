"""`seeker operator token issue|list|revoke` and `seeker operator password`."""

import argparse
import getpass
import sys
from typing import Any

from seeker.cli.client import SeekerClient
from seeker.errors import SeekerError
from seeker.views.display import duration_s, moment, print_list


def add_operator_commands(commands: Any, url: dict[str, Any]) -> None:
    operator = commands.add_parser(
        "operator", help="operator tokens and the password for the admin page and the API"
    )
    operator_commands = operator.add_subparsers(dest="operator_command", required=True)
    token = operator_commands.add_parser("token", help="operator tokens (bearer tokens)")
    token_commands = token.add_subparsers(dest="operator_token_command", required=True)
    issue = token_commands.add_parser("issue", help="issue an operator token (shown only now)")
    issue.add_argument("--seeker", **url)
    issue.add_argument("--label", default="", help="who or what it is for, shown in the list")
    issue.add_argument(
        "--expires-in",
        type=duration_s,
        metavar="DURATION",
        help="refused after this long: 90s, 30m, 12h, 7d (default never)",
    )
    issue.set_defaults(action=_issue)
    listing = token_commands.add_parser("list", help="list operator tokens")
    listing.add_argument("--seeker", **url)
    listing.set_defaults(action=_list)
    revoke = token_commands.add_parser(
        "revoke", help="refuse a token from now on and end the sessions it opened"
    )
    revoke.add_argument("--seeker", **url)
    revoke.add_argument("token_id")
    revoke.set_defaults(action=_revoke)
    password = operator_commands.add_parser(
        "password", help="set the password of the admin page (signs every session out)"
    )
    password.add_argument("--seeker", **url)
    password.add_argument(
        "--stdin", action="store_true", help="read it from the first line of stdin, unprompted"
    )
    password.set_defaults(action=_password)


async def _issue(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"label": args.label}
    if args.expires_in is not None:
        body["expires_in_s"] = args.expires_in
    async with SeekerClient(args.seeker, token=args.token) as client:
        issued = await client.issue_operator_token(body)
    print(issued["token"])
    print(
        f"operator token {issued['token_id']}: shown only now; send it as "
        "`Authorization: Bearer TOKEN`, or set SEEKGIVE_TOKEN for this CLI",
        file=sys.stderr,
    )
    return 0


def token_line(token: dict[str, Any]) -> str:
    label = f" {token['label']!r}" if token["label"] else ""
    created, expires = moment(token["created_at"]), moment(token["expires_at"])
    return f"{token['token_id']} {token['state']}{label}: created {created}, expires {expires}"


async def _list(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        tokens = await client.operator_tokens()
    print_list("operator tokens", tokens, token_line)
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        print(token_line(await client.revoke_operator_token(args.token_id)))
    return 0


async def _password(args: argparse.Namespace) -> int:
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            raise SeekerError("the two passwords differ; nothing changed")
    async with SeekerClient(args.seeker, token=args.token) as client:
        await client.set_password(password)
    print("password set; every admin page session is signed out")
    return 0
