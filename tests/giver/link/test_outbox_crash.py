"""Results survive a Giver killed with SIGKILL and a Channel that goes away.

The Channel runs as its own process (`channel serve`) on the SQLite results
file the Seeker polls; the Seeker tells Givers its URL (`--channel-url`). The
Giver is killed between finishing a task and hearing the Channel acknowledge
the result, or the Channel is down while tasks finish: every key still counts
once and the Channel holds one result per task.
"""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.base import OPERATOR_HEADERS, free_port, operator_token_file, until_blocking
from support.processes import Process

from channel.store.factory import open_channel
from channel.wire.results import Result

BIN = Path(sys.executable).parent
WAIT_S = 60.0
POLL_S = 0.05
TCP_ESTABLISHED = "01"


def operator_request(url: str) -> urllib.request.Request:
    return urllib.request.Request(url, headers=OPERATOR_HEADERS)


class Grid:
    """A Channel, a Seeker and Givers as processes, on one results file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = f"sqlite:///{root / 'channel.sqlite3'}"
        self.channel_port = free_port()
        self.seeker_url = f"http://127.0.0.1:{free_port()}"
        self.giver_dir = root / "giver"
        self.processes: list[Process] = []

    def start(self, log: str, *argv: object) -> Process:
        process = Process(self.root / f"{log}.log", *argv)
        self.processes.append(process)
        return process

    def channel(self) -> Process:
        channel = self.start(
            "channel", BIN / "channel", "serve", "--store", self.store, "--port", self.channel_port
        )
        channel.wait_for(f"channel serving on http://127.0.0.1:{self.channel_port}/")
        return channel

    def seeker(self) -> Process:
        seeker = self.start(
            "seeker",
            BIN / "seeker",
            "run",
            "--port",
            self.seeker_url.rpartition(":")[2],
            "--data-dir",
            self.root / "seeker",
            "--operator-token-file",
            operator_token_file(self.root),
            "--store",
            self.store,
            "--channel-url",
            f"http://127.0.0.1:{self.channel_port}",
            "--open-registration",
        )
        seeker.wait_for(f"serving on {self.seeker_url}")
        return seeker

    def giver(self, log: str = "giver", slots: int = 1) -> Process:
        """A Giver (always the same one: same data dir), logging debug messages."""
        giver = self.start(
            log,
            BIN / "giver",
            "run",
            "-v",
            "--seeker",
            self.seeker_url,
            "--data-dir",
            self.giver_dir,
            "--slots",
            slots,
        )
        giver.wait_for("session with the Seeker at")
        return giver

    def submit(self, image: str, *keys: str, block_size: int) -> str:
        submitted = subprocess.run(
            [
                BIN / "seeker",
                "submit",
                "--seeker",
                self.seeker_url,
                "--image",
                image,
                "--keys",
                *keys,
                "--block-size",
                str(block_size),
                "--setting",
                "mode=ok",
            ],
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        assert submitted.returncode == 0, submitted.stderr
        return submitted.stdout.strip()

    def job(self, job_id: str) -> dict:
        with urllib.request.urlopen(
            operator_request(f"{self.seeker_url}/api/v1/jobs/{job_id}")
        ) as response:
            return json.load(response)

    def records(self, job_id: str) -> list[dict]:
        with urllib.request.urlopen(
            operator_request(f"{self.seeker_url}/api/v1/jobs/{job_id}/records")
        ) as r:
            return [json.loads(line) for line in r.read().splitlines()]

    def wait_done(self, job_id: str) -> dict:
        until_blocking(lambda: self.job(job_id)["status"] == "done", f"job {job_id} done")
        return self.job(job_id)

    def outbox(self) -> list[str]:
        return sorted(p.stem for p in (self.giver_dir / "outbox").glob("*.json"))

    def stored(self, job_id: str) -> list[Result]:
        """The results the Channel holds for `job_id`, read from its file."""

        async def read() -> list[Result]:
            async with await open_channel(self.store) as channel:
                return [await channel.load(row) async for row in channel.job_results(job_id)]

        return asyncio.run(read())


@pytest.fixture
def grid(tmp_path: Path) -> Iterator[Grid]:
    grid = Grid(tmp_path)
    yield grid
    for process in reversed(grid.processes):
        process.stop()


def receiving(port: int) -> bool:
    """Whether a connection to `port` on this host holds bytes its server has not read."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rpartition(":")[2], 16)
        rx_queue = int(fields[4].partition(":")[2], 16)
        if local_port == port and fields[3] == TCP_ESTABLISHED and rx_queue > 0:
            return True
    return False


def kill(process: Process) -> None:
    process.signal(signal.SIGKILL)
    process.popen.wait(timeout=WAIT_S)


def warnings_about_delivery(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(r" WARNING giver\.link\.outbox: ", line)]


def test_result_posted_to_a_stopped_channel_is_kept_once_across_a_giver_crash(
    grid: Grid, faulty_image: str
) -> None:
    channel = grid.channel()
    grid.seeker()
    giver = grid.giver()
    channel.signal(signal.SIGSTOP)
    job_id = grid.submit(faulty_image, "a", "b", "c", block_size=3)
    until_blocking(grid.outbox, "the result in the outbox")
    (result_id,) = grid.outbox()
    until_blocking(lambda: receiving(grid.channel_port), "the post to reach the stopped Channel")
    kill(giver)
    channel.signal(signal.SIGCONT)
    # The Channel reads the post of a Giver that is gone and stores the result; the
    # file stays in the outbox, as when a Giver dies between the ack and the removal.
    until_blocking(lambda: grid.stored(job_id), "the Channel to store the result")
    assert grid.outbox() == [result_id]

    restarted = grid.giver("giver-restarted")
    restarted.wait_for(f"result {result_id} of task")
    assert "1 result(s) from a previous run to deliver" in restarted.log()
    assert grid.outbox() == []
    job = grid.wait_done(job_id)
    assert job["keys"] == {"total": 3, "done": 3, "failed": 0, "leased": 0, "pending": 0}
    assert [r.result_id for r in grid.stored(job_id)] == [result_id]
    assert sorted(r["key"] for r in grid.records(job_id)) == ["a", "b", "c"]


def test_result_the_channel_never_got_is_delivered_once_after_a_giver_crash(
    grid: Grid, faulty_image: str
) -> None:
    channel = grid.channel()
    grid.seeker()
    giver = grid.giver()
    channel.stop()
    job_id = grid.submit(faulty_image, "a", "b", block_size=2)
    giver.wait_for("not delivered")
    (result_id,) = grid.outbox()
    kill(giver)
    assert grid.stored(job_id) == []

    grid.channel()
    restarted = grid.giver("giver-restarted")
    restarted.wait_for(f"result {result_id} of task")
    assert grid.outbox() == []
    job = grid.wait_done(job_id)
    assert job["keys"] == {"total": 2, "done": 2, "failed": 0, "leased": 0, "pending": 0}
    assert [r.result_id for r in grid.stored(job_id)] == [result_id]
    assert sorted(r["key"] for r in grid.records(job_id)) == ["a", "b"]


def test_results_wait_in_the_outbox_while_the_channel_is_down(
    grid: Grid, faulty_image: str
) -> None:
    channel = grid.channel()
    grid.seeker()
    # The Seeker counts a task against its Giver's slots until the result counts, so
    # results a Channel outage holds back keep the Giver from taking more: one slot
    # per block lets every task finish while the Channel is down.
    giver = grid.giver(slots=4)
    channel.stop()
    keys = [f"k{i}" for i in range(8)]
    job_id = grid.submit(faulty_image, *keys, block_size=2)
    until_blocking(lambda: len(grid.outbox()) == 4, "four results in the outbox")
    assert grid.stored(job_id) == []
    assert grid.job(job_id)["keys"]["done"] == 0
    queued = grid.outbox()

    grid.channel()
    giver.wait_for("accepts results again")
    job = grid.wait_done(job_id)
    assert job["keys"] == {"total": 8, "done": 8, "failed": 0, "leased": 0, "pending": 0}
    assert sorted(r.result_id for r in grid.stored(job_id)) == queued
    assert sorted(r["key"] for r in grid.records(job_id)) == keys
    assert grid.outbox() == []
    (warning,) = warnings_about_delivery(giver.log())
    assert f"cannot reach the Channel at http://127.0.0.1:{grid.channel_port}" in warning
    assert os.listdir(grid.giver_dir / "outbox" / "rejected") == []
