"""`giver run` with a Docker socket it cannot use stops at start with one line
naming the socket and the fix: a socket that does not exist, one that answers
but not as a Docker Engine, and one its user may not open."""

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from support.base import BIN, run

NOBODY = 65534


async def giver_run(data_dir: Path, socket: Path, *prefix: str) -> tuple[int, str]:
    """`giver run` against `socket` to its end: its exit code and last line of stderr."""
    code, _, err = await run(
        *prefix,
        BIN / "giver",
        "run",
        "--seeker",
        "http://127.0.0.1:9",
        "--data-dir",
        data_dir,
        env={"DOCKER_HOST": f"unix://{socket}"},
    )
    return code, err.splitlines()[-1]


@pytest.fixture
async def not_docker(tmp_path: Path) -> AsyncIterator[Path]:
    """A unix socket answering every request 404, as a web server would."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n")
        await writer.drain()
        writer.close()

    path = tmp_path / "web.sock"
    server = await asyncio.start_unix_server(answer, path)
    async with server:
        yield path


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory any user may write in (tmp_path is root's own)."""
    path = Path(tempfile.mkdtemp(prefix="seekgive-socket-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


async def test_a_socket_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "docker.sock"
    code, line = await giver_run(tmp_path / "data", missing)
    assert (code, line) == (
        1,
        f"giver: error: the Docker socket {missing} does not exist: start the Docker Engine, "
        "or set DOCKER_HOST to the socket it listens on (unix:///PATH)",
    )


async def test_a_socket_that_is_not_docker_is_named(tmp_path: Path, not_docker: Path) -> None:
    code, line = await giver_run(tmp_path / "data", not_docker)
    assert code == 1
    assert line.startswith(
        f"giver: error: the Docker socket {not_docker} does not answer as a Docker Engine ("
    )
    assert line.endswith("); set DOCKER_HOST to the Engine's socket")


async def test_a_socket_the_user_may_not_open_names_its_group(
    shared_dir: Path, not_docker: Path
) -> None:
    assert os.getuid() == 0, "the tests run as root, to run the Giver as another user"
    socket = shared_dir / "docker.sock"
    os.link(not_docker, socket)
    socket.chmod(0o000)
    setpriv = ("setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups")
    code, line = await giver_run(shared_dir / "data", socket, *setpriv)
    assert (code, line) == (
        1,
        f"giver: error: cannot use the Docker socket {socket}: permission denied; add user "
        "nobody to the socket's group root (GID 0) (usermod -aG root nobody; in compose: "
        f'group_add: ["0"]) and let that group use it (chmod g+rw {socket})',
    )
