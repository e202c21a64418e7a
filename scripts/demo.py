"""The demo: one scraping job on the embedded default, end to end.

Starts the demo shop on 127.0.0.1, a Seeker (SQLite results store) and two
Givers as real processes, submits the shop's product pages as a job, follows
it, exports the records as JSON lines and prints one summary line. The scraper
reaches the shop through each Giver's egress gateway, whose volunteer allows
the shop's address and port and nothing else of this machine. Ctrl-C stops
everything it started, Givers first so no container is left behind.
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import demo_site

from channel.wire.references import repository_of
from seeker.cli.client import SeekerClient
from seeker.cli.jobs import progress_line
from seeker.errors import SeekerError

IMAGE = "seekgive/catalog:1"
STARTUP_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
POLL_S = 0.25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Child processes, stopped in reverse order of starting."""

    def __init__(self) -> None:
        self._children: list[tuple[str, asyncio.subprocess.Process]] = []

    async def start(
        self, name: str, *argv: str, log: Path, env: dict[str, str] | None = None
    ) -> None:
        """Start `argv` as `name`, logging to `log`, with `env` added to this environment."""
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=out,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        self._children.append((name, process))

    def check(self) -> None:
        for name, process in self._children:
            if process.returncode is not None:
                raise SeekerError(f"{name} exited with code {process.returncode}")

    async def stop(self) -> None:
        while self._children:
            name, process = self._children.pop()
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), STOP_GRACE_S)
                except TimeoutError:
                    print(
                        f"demo: {name} did not stop in {STOP_GRACE_S:.0f} s; killing it",
                        file=sys.stderr,
                    )
                    process.kill()
                    await process.wait()


async def wait_until(condition, what: str, processes: Processes) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        processes.check()
        with contextlib.suppress(SeekerError):
            if await condition():
                return
        await asyncio.sleep(POLL_S)
    raise SeekerError(f"{what} did not happen within {STARTUP_TIMEOUT_S:.0f} s")


async def demo(args: argparse.Namespace, work: Path) -> str:
    bin_dir = Path(sys.executable).parent
    site, site_url = await demo_site.serve()
    processes = Processes()
    try:
        port = free_port()
        seeker_url = f"http://127.0.0.1:{port}"
        await processes.start(
            "seeker",
            str(bin_dir / "seeker"),
            "run",
            "--port",
            str(port),
            "--data-dir",
            str(work / "seeker"),
            log=work / "seeker.log",
        )
        # A new Seeker writes an operator token for the CLI and scripts beside it.
        token_file = work / "seeker" / "operator.token"

        async def token_written() -> bool:
            return token_file.is_file() and bool(token_file.read_text().strip())

        await wait_until(token_written, "the Seeker writing its operator token", processes)
        async with SeekerClient(seeker_url, token=token_file.read_text().strip()) as client:

            async def seeker_up() -> bool:
                await client.jobs()
                return True

            await wait_until(seeker_up, "the Seeker answering", processes)
            # As an operator would: one token admits the demo's Givers, which run
            # only the demo's scraper and let it reach the demo shop.
            token = await client.issue_token({"label": "demo", "uses": args.givers})
            shop = urlsplit(site_url).netloc
            for n in range(1, args.givers + 1):
                await processes.start(
                    f"giver-{n}",
                    str(bin_dir / "giver"),
                    "run",
                    "--seeker",
                    seeker_url,
                    "--data-dir",
                    str(work / f"giver-{n}"),
                    "--name",
                    f"demo-giver-{n}",
                    "--allow-image",
                    repository_of(IMAGE),
                    "--allow-local",
                    shop,
                    log=work / f"giver-{n}.log",
                    env={"SEEKGIVE_GIVER_TOKEN": token["token"]},
                )

            async def givers_online() -> bool:
                givers = (await client.givers())["givers"]
                return sum(g["online"] for g in givers) >= args.givers

            await wait_until(givers_online, f"{args.givers} Givers connecting", processes)
            started = time.monotonic()
            job = await client.submit(
                {
                    "image": IMAGE,
                    "range": [1, args.keys + 1],
                    "block_size": args.block_size,
                    "network": "bridge",
                    "settings": {"base_url": site_url},
                    "name": "demo",
                }
            )
            print(
                f"demo: job {job['job_id']}: {args.keys} keys in blocks of "
                f"{args.block_size} on {args.givers} Givers",
                flush=True,
            )
            last = ""
            while job["status"] != "done":
                processes.check()
                await asyncio.sleep(POLL_S)
                job = await client.job(job["job_id"])
                if (line := progress_line(job)) != last:
                    print(line, flush=True)
                    last = line
            records = await client.download(f"{job['job_id']}/records", args.output)
            elapsed_s = time.monotonic() - started
    finally:
        await processes.stop()
        await site.cleanup()
    keys = job["keys"]
    print(f"demo: results in {args.output}; logs in {work}", flush=True)
    return (
        f"demo: {keys['done']}/{keys['total']} keys done, {records} records, "
        f"{args.givers} givers, {elapsed_s:.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=demo_site.PRODUCT_COUNT)
    parser.add_argument("--block-size", type=int, default=25)
    parser.add_argument("--givers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("out/demo-results.jsonl"))
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path("out/demo"),
        help="where Seeker and Givers keep data and logs (emptied first)",
    )
    args = parser.parse_args()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        line = asyncio.run(demo(args, args.work_dir))
    except SeekerError as e:
        print(f"demo: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    print(line)
    return 0 if line.startswith(f"demo: {args.keys}/{args.keys} ") else 1


if __name__ == "__main__":
    sys.exit(main())
