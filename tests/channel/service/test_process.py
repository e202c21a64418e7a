"""`channel serve` as its own process: killed under load it loses nothing it
acknowledged, and a large export streams in flat memory."""

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest
from support.base import BIN, free_port, run
from support.processes import Process
from support.results import result_of

from channel.errors import StoreUnavailable
from channel.service.client import ChannelClient
from channel.store.factory import open_channel
from channel.store.rows import JobPolicy
from channel.wire.identity import Identity
from channel.wire.results import Ack, Result

RESULTS = 200
CLIENTS = 20
KILL_AFTER = 60
RETRY_S = 0.05


class Server:
    """`channel serve` on a fixed port, restartable."""

    def __init__(self, tmp_path: Path, store: str) -> None:
        self.tmp_path = tmp_path
        self.store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: Process | None = None
        self.starts = 0

    async def start(self) -> Process:
        self.starts += 1
        process = Process(
            self.tmp_path / f"channel-{self.starts}.log",
            BIN / "channel",
            "serve",
            "--store",
            self.store,
            "--port",
            self.port,
        )
        self.process = process
        await asyncio.to_thread(process.wait_for, f"channel serving on {self.url}/")
        return process

    async def stop(self) -> None:
        if self.process is not None:
            await asyncio.to_thread(self.process.stop)


async def prepared(store: str) -> tuple[Identity, str]:
    """A Giver registered for job j1, and a token to read the job."""
    giver = Identity.generate()
    async with await open_channel(store) as channel:
        await channel.put_job(JobPolicy("j1"))
        await channel.register_giver(giver.id, giver.public_key)
        token, _ = await channel.issue_reader(jobs=("j1",))
    return giver, token


async def test_a_channel_killed_under_load_loses_nothing_it_acknowledged(
    tmp_path: Path, store_url: str
) -> None:
    giver, _ = await prepared(store_url)
    results = [
        result_of(
            giver, f"r{n:04d}", [{"key": str(n), "data": {"page": "x" * 1000}}], f"j1-{n:05d}.1"
        )
        for n in range(RESULTS)
    ]
    server = Server(tmp_path, store_url)
    await server.start()
    acked: dict[str, Ack] = {}
    enough = asyncio.Event()

    async def post_all(client: ChannelClient, share: list[Result]) -> None:
        for result in share:
            while True:
                try:
                    acked[result.result_id] = await client.post_result(result)
                    break
                except StoreUnavailable:
                    await asyncio.sleep(RETRY_S)
            if len(acked) >= KILL_AFTER:
                enough.set()

    try:
        async with aiohttp.ClientSession() as http:
            client = ChannelClient(server.url, http)
            posting = asyncio.gather(
                *(post_all(client, results[i::CLIENTS]) for i in range(CLIENTS))
            )
            await enough.wait()
            assert server.process is not None
            server.process.signal(signal.SIGKILL)
            await asyncio.to_thread(server.process.popen.wait)
            acked_before_kill = set(acked)
            await server.start()
            await posting
    finally:
        await server.stop()

    async with await open_channel(store_url) as channel:
        rows = await channel.result_rows(r.task_id for r in results)
        stored = [row.result_id for row in rows]
        assert acked_before_kill <= set(stored)
        assert sorted(stored) == sorted(r.result_id for r in results)
        for result in results[:: RESULTS // 10]:
            assert await channel.results_for_tasks([result.task_id]) == [result]


async def test_a_large_export_streams_in_flat_memory(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/channel.sqlite3"
    giver, token = await prepared(store)
    server = Server(tmp_path, store)
    process = await server.start()
    exported = 0
    try:
        async with aiohttp.ClientSession() as http:
            client = ChannelClient(server.url, http)
            for n in range(20):
                records = [
                    {"key": f"{n}-{i}", "data": {"page": os.urandom(125_000).hex()}}
                    for i in range(20)
                ]
                await client.post_result(result_of(giver, f"r{n:04d}", records, f"j1-{n:05d}.1"))
            before = await asyncio.to_thread(reset_peak_rss, process.popen.pid)
            export = f"{server.url}/v1/jobs/j1/export"
            async with http.get(export, headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 200
                async for chunk in response.content.iter_chunked(64 * 1024):
                    exported += len(chunk)
            grown_kib = await asyncio.to_thread(peak_rss_kib, process.popen.pid) - before
    finally:
        await server.stop()
    assert exported > 100_000_000
    # A job's worth of records would be over 100 MB; the server held a few chunks.
    assert grown_kib < 32 * 1024, f"export grew the server's peak RSS by {grown_kib} KiB"


def reset_peak_rss(pid: int) -> int:
    """Start counting process `pid`'s peak RSS afresh; its RSS now, in KiB."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return peak_rss_kib(pid)


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1])


async def test_channel_serve_takes_its_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("SEEKGIVE_CHANNEL_PORT", str(port))
    monkeypatch.setenv("SEEKGIVE_CHANNEL_STORE", f"sqlite:///{tmp_path}/channel.sqlite3")
    process = Process(tmp_path / "channel.log", BIN / "channel", "serve")
    try:
        await asyncio.to_thread(process.wait_for, f"channel serving on http://127.0.0.1:{port}/")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
    finally:
        await asyncio.to_thread(process.stop)
    assert (tmp_path / "channel.sqlite3").exists()


async def test_a_bad_setting_in_the_environment_stops_channel_serve_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEEKGIVE_CHANNEL_MAX_RESULT_MIB", "0")
    code, _, err = await run(BIN / "channel", "serve")
    assert code == 2
    assert err.splitlines()[-1] == (
        "channel: error: SEEKGIVE_CHANNEL_MAX_RESULT_MIB: must be a positive number, got 0"
    )
