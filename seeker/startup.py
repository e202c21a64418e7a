"""What a Seeker claims before it creates anything: the address it listens on,
then its data dir, created private (0700) and locked so that one Seeker at a
time runs on it. Both are let go when the process ends, however it ends.

May import: seeker.errors.
"""

import errno
import fcntl
import os
import socket
from pathlib import Path

from seeker.errors import SeekerError

LOCK_FILE = "seeker.lock"


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address `host` names (all, if empty), or SeekerError
    naming the address and why."""
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        raise SeekerError(f"cannot listen on {where}: {e.strerror}") from e
    sockets: list[socket.socket] = []
    try:
        for family, _, _, _, address in dict.fromkeys(found):
            sockets.append(socket.create_server(address, family=family))
    except OSError as e:
        for sock in sockets:
            sock.close()
        if e.errno == errno.EADDRINUSE:
            raise SeekerError(
                f"cannot listen on {where}: the address is in use (by another Seeker?); "
                "choose another --port"
            ) from e
        raise SeekerError(f"cannot listen on {where}: {e.strerror}") from e
    return sockets


class DataDir:
    """The Seeker's data dir, held (`claim()`) until `release()` or the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: int | None = None

    def claim(self) -> None:
        """Create the dir (0700) if it is new and lock it, or SeekerError if another
        Seeker holds it (blocking)."""
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise SeekerError(f"cannot use the data dir {self.path}: {e.strerror}") from e
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(lock, 32).decode(errors="replace").strip() or "unknown"
            os.close(lock)
            raise SeekerError(
                f"another Seeker (process {holder}) runs with the data dir {self.path}; "
                "give each Seeker its own --data-dir"
            ) from None
        os.ftruncate(lock, 0)
        os.pwrite(lock, f"{os.getpid()}\n".encode(), 0)
        self._lock = lock

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            os.close(lock)
