"""Reaching the Docker Engine: the socket the environment names, and, when it
cannot be used, why in one line with what to do.

docker-py reads DOCKER_HOST (default the local socket) and wraps the socket's
own error (no such file, permission denied) in two layers of its own; a socket
that answers but not as an Engine fails on the API version it reports.
"""

import errno
import grp
import os
import pwd
import stat
from collections.abc import Mapping

import docker
import requests

from giver.errors import DockerUnavailable

DEFAULT_HOST = "unix:///var/run/docker.sock"


def engine_client(environ: Mapping[str, str], max_pool_size: int) -> docker.DockerClient:
    """A client of the Engine DOCKER_HOST in `environ` names that has answered a ping;
    DockerUnavailable saying why not and what to do (call it in a thread)."""
    host = environ.get("DOCKER_HOST") or DEFAULT_HOST
    try:
        # Asks the Engine for its API version: the first round trip.
        client = docker.from_env(environment=dict(environ), max_pool_size=max_pool_size)
    except (docker.errors.DockerException, requests.RequestException) as e:
        raise DockerUnavailable(unusable(host, e)) from e
    try:
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as e:
        client.close()
        raise DockerUnavailable(unusable(host, e)) from e
    except BaseException:
        client.close()
        raise
    return client


def unusable(host: str, error: BaseException) -> str:
    """Why the Engine at `host` (a DOCKER_HOST value) cannot be used, naming the fix."""
    cause = _os_error(error)
    socket = host.removeprefix("unix://") if host.startswith("unix://") else ""
    where = f"the Docker socket {socket}" if socket else host
    if socket and isinstance(cause, FileNotFoundError):
        return (
            f"the Docker socket {socket} does not exist: start the Docker Engine, or set "
            "DOCKER_HOST to the socket it listens on (unix:///PATH)"
        )
    if socket and cause is not None and cause.errno in (errno.EACCES, errno.EPERM):
        return f"cannot use the Docker socket {socket}: permission denied; {_grant(socket)}"
    if isinstance(cause, ConnectionRefusedError):
        return f"nothing listens on {where}: start the Docker Engine"
    if cause is None and isinstance(error, docker.errors.DockerException):
        return (
            f"{where} does not answer as a Docker Engine ({_one_line(error)}); "
            "set DOCKER_HOST to the Engine's socket"
        )
    return f"cannot reach the Docker Engine at {where}: {_one_line(error)}"


def _grant(socket: str) -> str:
    """What lets this user use `socket`: its group, and the group's access to it."""
    try:
        info = os.stat(socket)
    except OSError:
        return "run the Giver as a user the socket lets in"
    gid = info.st_gid
    try:
        name = grp.getgrgid(gid).gr_name
    except KeyError:
        name = str(gid)
    group = f"{name} (GID {gid})" if name != str(gid) else f"GID {gid}"
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = str(os.getuid())
    fix = (
        f"add user {user} to the socket's group {group} (usermod -aG {name} {user}; "
        f'in compose: group_add: ["{gid}"])'
    )
    if stat.S_IMODE(info.st_mode) & 0o060 != 0o060:
        fix += f" and let that group use it (chmod g+rw {socket})"
    return fix


def _os_error(error: BaseException) -> OSError | None:
    """The socket's own error under docker-py's and requests' wrappers, if any."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current
        pending += [current.__cause__, current.__context__, *current.args]
    return None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
