"""What a Seeker claims when it starts, as people start it: its port before
anything else, its data dir for itself alone, and stores only its user reads."""

import asyncio
import socket
import stat
import subprocess
from pathlib import Path

import aiohttp
import pytest
from support.base import BIN, OPERATOR_HEADERS, free_port
from support.processes import STOP_TIMEOUT_S, seeker_process

from channel.errors import StoreUnavailable
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import StateUnavailable


def seeker_run(port: int, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "seeker", "run", "--port", str(port), "--data-dir", data_dir],
        capture_output=True,
        text=True,
        timeout=STOP_TIMEOUT_S,
    )


def test_a_port_in_use_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "seeker-data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        seeker = seeker_run(port, data_dir)
    assert seeker.returncode == 1
    assert seeker.stderr.splitlines() == [
        f"seeker: error: cannot listen on 127.0.0.1:{port}: the address is in use "
        "(by another Seeker?); choose another --port"
    ]
    assert not data_dir.exists()


async def test_a_second_seeker_on_one_data_dir_is_refused_and_one_leads(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "seeker-data", free_port()
    async with seeker_process(port, data_dir, tmp_path / "first.log", ()) as first:
        second = await asyncio.to_thread(seeker_run, free_port(), data_dir)
        assert second.returncode == 1
        assert second.stderr.splitlines()[-1] == (
            f"seeker: error: another Seeker (process {first.pid}) runs with the data dir "
            f"{data_dir}; give each Seeker its own --data-dir"
        )
        async with (
            aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http,
            http.get(f"http://127.0.0.1:{port}/api/v1/leader") as response,
        ):
            assert (await response.json())["leader"] is True


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("store", ["seeker.sqlite3", "channel.sqlite3"])
async def test_the_data_dir_is_private_and_a_store_others_read_is_refused(
    tmp_path: Path, store: str
) -> None:
    data_dir = tmp_path / "seeker-data"
    config = SeekerConfig(port=0, data_dir=data_dir)
    async with Seeker(config):
        pass
    assert mode(data_dir) == 0o700
    written = sorted(p.name for p in data_dir.iterdir() if p.is_file() and mode(p) != 0o600)
    assert written == ["instance.id"]
    (data_dir / store).chmod(0o644)
    with pytest.raises((StoreUnavailable, StateUnavailable)) as refused:
        await Seeker(config).start()
    assert str(refused.value) == (
        f"{data_dir / store} is readable by others (mode 644); run: chmod 600 {data_dir / store}"
    )
    assert mode(data_dir / store) == 0o644
