"""Run a Seeker in a process of its own until SIGTERM or SIGINT, for tests whose
own work would hold up its event loop (a fuzzer generating requests).

    python serve_seeker.py DATA_DIR LOG_FILE OPERATOR_TOKEN

It prints its URL on stdout once it serves, and logs to LOG_FILE.
"""

import asyncio
import logging
import signal
import sys
from pathlib import Path

from seeker.config import SeekerConfig
from seeker.daemon import Seeker


async def serve(data_dir: Path, operator_token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    config = SeekerConfig(port=0, data_dir=data_dir, operator_token=operator_token)
    async with Seeker(config) as seeker:
        print(seeker.url, flush=True)
        await stop.wait()


def main() -> None:
    data_dir, log_file, operator_token = sys.argv[1:]
    logging.basicConfig(
        filename=log_file, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(Path(data_dir), operator_token))


if __name__ == "__main__":
    main()
