"""`seeker operator token issue|list|revoke` and `seeker operator password`."""

import argparse
import getpass
import sys
from typing import Any

from seeker.cli.client import OPERATOR, SeekerClient
from seeker.cli.options import connect
from seeker.cli.tokens import TokenCommands, add_token_commands
from seeker.errors import SeekerError
from seeker.views.display import moment


def token_line(token: dict[str, Any]) -> str:
    label = f" {token['label']!r}" if token["label"] else ""
    created, expires = moment(token["created_at"]), moment(token["expires_at"])
    return f"{token['token_id']} {token['state']}{label}: created {created}, expires {expires}"


OPERATOR_TOKENS = TokenCommands(
    kind=OPERATOR,
    title="operator tokens",
    issue_help="issue an operator token (shown only now)",
    list_help="list operator tokens",
    revoke_help="refuse a token from now on and end the sessions it opened (not the "
    "token this command sends, unless --force)",
    label_help="who or what it is for, shown in the list",
    expires_help="refused after this long: 90s, 30m, 12h, 7d (default never)",
    line=token_line,
    use=lambda issued: (
        f"operator token {issued['token_id']}: shown only now; send it as "
        "`Authorization: Bearer TOKEN`, or set SEEKGIVE_TOKEN for this CLI"
    ),
    force_help="revoke it even if this command sends it (and so loses its way in)",
)


def add_commands(commands: Any) -> None:
    operator = commands.add_parser(
        "operator", help="operator tokens and the password for the admin page and the API"
    )
    operator_commands = operator.add_subparsers(dest="operator_command", required=True)
    token = operator_commands.add_parser("token", help="operator tokens (bearer tokens)")
    add_token_commands(token, OPERATOR_TOKENS, dest="operator_token_command")
    password = operator_commands.add_parser(
        "password", help="set the password of the admin page (signs every session out)"
    )
    connect(password)
    password.add_argument(
        "--stdin", action="store_true", help="read it from the first line of stdin, unprompted"
    )
    password.set_defaults(action=_password)


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
