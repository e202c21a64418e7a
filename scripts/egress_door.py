"""A door of the Giver's egress gateway, served by hand: the way out of a scraper's
container run without a Giver, as in images/README.md (step 5) and the benches'
baselines.

`python scripts/egress_door.py --allow-local 127.0.0.1:8080 DIR` starts the
Giver's own gateway (giver.egress) under DIR, opens one door, prints the door's
directory and serves until interrupted. A container with no network of its own
(`docker run --network none`) that is given that directory as /egress, with
`SEEKGIVE_EGRESS=/egress/proxy.sock`, reaches what it would under a Giver
whose volunteer passed the same `--allow-local`: public hosts, and of this
machine and its network only the addresses listed. Each request is logged in
DIR/egress.log.
"""

import argparse
import asyncio
import signal
from pathlib import Path

from giver.egress.addresses import AddressRules
from giver.egress.gateway import serving


async def serve(directory: Path, rules: AddressRules) -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    async with serving(directory, rules) as gateway:
        door = await gateway.open("by-hand", "by-hand")
        print(door.path.resolve(), flush=True)
        await stopped.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where the gateway keeps its socket and log")
    parser.add_argument(
        "--allow-local",
        action="append",
        default=[],
        metavar="ADDRESS[:PORT]",
        help="an address of this machine or its network the container may reach, "
        "e.g. 127.0.0.1:8080; repeatable",
    )
    args = parser.parse_args()
    try:
        rules = AddressRules.parse((), (), args.allow_local)
    except ValueError as e:
        parser.error(str(e))
    asyncio.run(serve(args.directory, rules))


if __name__ == "__main__":
    main()
