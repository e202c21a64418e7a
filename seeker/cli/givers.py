"""`seeker approve|revoke|unflag GIVER` and `seeker id`: Givers from the command line."""

import argparse
from typing import Any

from seeker.cli.client import SeekerClient
from seeker.cli.options import connect


def add_commands(commands: Any) -> None:
    for name, help_text, action in (
        (
            "unflag",
            "let a flagged Giver (its results kept being rejected) work again",
            _unflag,
        ),
        (
            "approve",
            "admit a Giver that waits for approval (see `seeker status`)",
            _admission,
        ),
        (
            "revoke",
            "forget a Giver's admission, take back its tasks and close its session",
            _admission,
        ),
    ):
        command = commands.add_parser(name, help=help_text)
        connect(command)
        command.add_argument("giver_id")
        command.set_defaults(action=action, verb=name)

    show_id = commands.add_parser(
        "id", help="print the public key the Seeker signs tasks with, for volunteers to pin"
    )
    connect(show_id)
    show_id.set_defaults(action=_show_id)


async def _unflag(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        await client.unflag(args.giver_id)
    print(f"giver {args.giver_id} may work again")
    return 0


async def _admission(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        if args.verb == "approve":
            await client.approve(args.giver_id)
            print(f"giver {args.giver_id} admitted")
            return 0
        answer = await client.revoke(args.giver_id)
    print(f"giver {args.giver_id} revoked; {answer['leases']} lease(s) taken back")
    return 0


async def _show_id(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        identity = await client.identity()
    print(f"seeker key: {identity['seeker_key']}")
    print(f"volunteers pin it with: giver run --seeker-key {identity['seeker_key']} ...")
    return 0
