"""The grid's overhead: the demo job against plain sequential `docker run`s.

Runs the 500-key demo (a Seeker and two Givers as processes, blocks of 25,
through `scripts/demo.py`) and, as baselines in the same run, the same 500
keys as 20 plain `docker run`s of the same image with the same sandbox flags,
each given one block: one after another, and as many at a time as the grid
has slots (`--givers` x 2), which isolates the grid's own overhead.

Both reach the demo shop the same way, never through the host's network: the
container has no network of its own and goes out through an egress gateway
(giver.egress) that lets it reach the shop and nothing else of this machine.
In the grid that is each Giver's gateway, its volunteer allowing the shop
(`--allow-local`); for the baselines this process runs one and binds a door's
socket into each plain `docker run --network none`, with `SEEKGIVE_EGRESS`
set, as a Giver does. So the baselines pay for the gateway too, and the
difference is what the Seeker and the Giver's runner add. Prints wall times
and keys per second; `--json` and `--smoke` are bench/_cli.py's.
"""

import argparse
import asyncio
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from giver.egress.addresses import AddressRules
from giver.egress.gateway import Gateway, serving

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import _cli  # noqa: E402
import demo_site  # noqa: E402
from _sandbox import docker_run  # noqa: E402

IMAGE = "seekgive/catalog:1"
DEMO_STOP_TIMEOUT_S = 30.0
# Sizes of a --smoke run: two blocks, one round.
SMOKE = {"keys": 50, "repeat": 1}
DEMO_LINE = re.compile(r"^demo: (\d+)/(\d+) keys done, (\d+) records, (\d+) givers, ([\d.]+) s$")


def docker_run_block(start: int, stop: int, site_url: str, work: Path, egress: Path) -> None:
    """One plain `docker run` of the scraper over keys start..stop-1, going out
    through the gateway door `egress`."""
    task = {
        "contract": 1,
        "task_id": f"bench-{start}",
        "job_id": "bench",
        "range": [start, stop],
        "settings": {"base_url": site_url},
    }
    out = docker_run(IMAGE, task, work, egress)
    lines = (out / "status.jsonl").read_text().splitlines()
    if sum(json.loads(line)["ok"] for line in lines) != stop - start:
        raise SystemExit(f"baseline block {start}..{stop} did not scrape every key")


async def baseline(keys: int, block_size: int, at_once: int) -> float:
    """Seconds for all keys as plain `docker run`s, `at_once` of them at a time."""
    runner, site_url = await demo_site.serve()
    limit = asyncio.Semaphore(at_once)

    async def one(start: int, work: Path, gateway: Gateway) -> None:
        async with limit:
            stop = min(start + block_size, keys + 1)
            door = await gateway.open("bench", f"bench-{start}")
            try:
                await asyncio.to_thread(docker_run_block, start, stop, site_url, work, door.path)
            finally:
                await gateway.close(door)

    try:
        with tempfile.TemporaryDirectory(prefix="seekgive-bench-") as tmp:
            work = Path(tmp)
            # The shop and nothing else of this machine, as the demo's Givers allow.
            rules = AddressRules.parse((), (), [urlsplit(site_url).netloc])
            async with serving(work / "gateway", rules) as gateway:
                started = time.monotonic()
                await asyncio.gather(
                    *(one(start, work, gateway) for start in range(1, keys + 1, block_size))
                )
                return time.monotonic() - started
    finally:
        await runner.cleanup()


def grid(keys: int, block_size: int, givers: int) -> tuple[float, float]:
    """(job seconds as the demo reports them, whole demo seconds with start-up)."""
    with tempfile.TemporaryDirectory(prefix="seekgive-bench-") as tmp:
        started = time.monotonic()
        demo = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "scripts" / "demo.py"),
                "--keys",
                str(keys),
                "--block-size",
                str(block_size),
                "--givers",
                str(givers),
                "--work-dir",
                str(Path(tmp) / "demo"),
                "--output",
                str(Path(tmp) / "results.jsonl"),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Out of the terminal's reach: the one SIGINT it gets is the one sent below.
            start_new_session=True,
        )
        try:
            stdout, stderr = demo.communicate()
        except BaseException:
            # On SIGINT the demo stops its Seeker and Givers, which run in sessions of
            # their own; killed, it would leave them running.
            demo.send_signal(signal.SIGINT)
            try:
                demo.communicate(timeout=DEMO_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.communicate()
            raise
        total_s = time.monotonic() - started
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    match = DEMO_LINE.match(last)
    if demo.returncode != 0 or not match:
        raise SystemExit(f"demo failed ({demo.returncode}): {last}\n{stderr[-2000:]}")
    if int(match[1]) != keys or int(match[3]) != keys:
        raise SystemExit(f"demo did not scrape every key: {last}")
    return float(match[5]), total_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=demo_site.PRODUCT_COUNT)
    parser.add_argument("--block-size", type=int, default=25)
    parser.add_argument("--givers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = _cli.parse(parser, SMOKE)

    slots = 2 * args.givers
    runs = -(-args.keys // args.block_size)
    job_s, total_s, base_s, parallel_s = [], [], [], []
    try:
        for round_ in range(1, args.repeat + 1):
            job, total = grid(args.keys, args.block_size, args.givers)
            base = asyncio.run(baseline(args.keys, args.block_size, 1))
            parallel = asyncio.run(baseline(args.keys, args.block_size, slots))
            job_s.append(job)
            total_s.append(total)
            base_s.append(base)
            parallel_s.append(parallel)
            print(
                f"round {round_}: grid job {job:.1f} s (whole demo {total:.1f} s), "
                f"{runs} docker runs: one at a time {base:.1f} s, {slots} at a time "
                f"{parallel:.1f} s",
                flush=True,
            )
    except KeyboardInterrupt:
        print("overhead bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130

    figures = {
        "keys": args.keys,
        "block_size": args.block_size,
        "givers": args.givers,
        "rounds": args.repeat,
        "grid_job_s_median": round(statistics.median(job_s), 2),
        "grid_whole_demo_s_median": round(statistics.median(total_s), 2),
        "baseline_sequential_docker_run_s_median": round(statistics.median(base_s), 2),
        "grid_keys_per_s": round(args.keys / statistics.median(job_s), 1),
        "baseline_keys_per_s": round(args.keys / statistics.median(base_s), 1),
        "baseline_parallel_docker_run_s_median": round(statistics.median(parallel_s), 2),
        "baseline_parallel_keys_per_s": round(args.keys / statistics.median(parallel_s), 1),
    }
    print(
        f"grid job: {figures['grid_job_s_median']} s median "
        f"({figures['grid_keys_per_s']} keys/s; whole demo with start-up "
        f"{figures['grid_whole_demo_s_median']} s)"
    )
    print(
        f"baseline, sequential docker run: {figures['baseline_sequential_docker_run_s_median']}"
        f" s median ({figures['baseline_keys_per_s']} keys/s)"
    )
    print(
        f"baseline, {slots} docker runs at a time: "
        f"{figures['baseline_parallel_docker_run_s_median']} s median "
        f"({figures['baseline_parallel_keys_per_s']} keys/s)"
    )
    _cli.print_figures(args, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
