"""`seeker scrapers`: the catalog of scraper images, from the command line."""

import argparse
from typing import Any

from seeker.catalog.forms import describe
from seeker.cli.client import SeekerClient
from seeker.cli.options import connect


def add_commands(commands: Any) -> None:
    """Add `seeker scrapers add|list|show|remove` to the `seeker` subcommands."""
    scrapers = commands.add_parser("scrapers", help="the catalog of scraper images")
    scraper_commands = scrapers.add_subparsers(dest="scrapers_command", required=True)
    add = scraper_commands.add_parser(
        "add",
        help="add images to the catalog by their labels (read from the Seeker's Docker "
        "Engine; nothing is run); an image of another architecture joins its scraper",
    )
    connect(add)
    add.add_argument("images", nargs="+", metavar="IMAGE")
    add.set_defaults(action=_add)
    listed = scraper_commands.add_parser("list", help="list the catalog's scrapers")
    connect(listed)
    listed.set_defaults(action=_list)
    show = scraper_commands.add_parser(
        "show", help="a scraper's images, resources and settings (the fields of its form)"
    )
    connect(show)
    show.add_argument("name")
    show.set_defaults(action=_show)
    remove = scraper_commands.add_parser("remove", help="remove a scraper from the catalog")
    connect(remove)
    remove.add_argument("name")
    remove.set_defaults(action=_remove)


async def _add(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        for image in args.images:
            entry = await client.add_scraper(image)
            settings = len(entry["schema"].get("properties", {}))
            print(
                f"{entry['name']}: {image} added ({', '.join(entry['arches'])}; "
                f"{settings} settings)"
            )
    return 0


async def _list(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        entries = await client.scrapers()
    if not entries:
        print("no scrapers; add one with `seeker scrapers add IMAGE`")
    for entry in entries:
        description = entry["description"].splitlines()[0] if entry["description"] else ""
        print(f"{entry['name']} [{', '.join(entry['arches'])}] {description}".rstrip())
    return 0


async def _show(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        entry = await client.scraper(args.name)
    print(f"{entry['name']} (contract {entry['contract']})")
    if entry["description"]:
        print(f"  {entry['description']}")
    for variant in entry["variants"]:
        print(
            f"  {variant['arch']}: {variant['image']} {variant['digest']} "
            f"({variant['size_bytes'] / 2**20:.1f} MiB)"
        )
    resources = entry["resources"]
    print(
        f"  needs {resources['memory_bytes'] // 2**20} MiB, {resources['cpus']:g} CPU, "
        f"{resources['timeout_s']:g} s a task, "
        + ("a network" if resources["network"] else "no network")
    )
    print("  settings:")
    for field in entry["form"]:
        print(f"    {describe(field)}")
    return 0


async def _remove(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        await client.remove_scraper(args.name)
    print(f"{args.name}: removed from the catalog")
    return 0
