"""The way out for a task that needs the network: the Giver's egress gateway.

Such a task's container has no network of its own, only its loopback; the
Giver binds its gateway, an HTTP forward proxy, into it as the unix socket
that ``$SEEKGIVE_EGRESS`` names. :func:`open_from_env` starts a relay from a
free port on the container's loopback to that socket and points
``HTTP_PROXY`` and ``HTTPS_PROXY`` (and their lower-case forms) at it, for
this process and every process it starts. So ``fetch_text``, urllib,
requests, curl and most other HTTP clients reach the network through the
gateway without a change. Without ``$SEEKGIVE_EGRESS`` nothing happens: the
task has no network, or (``host``, if the volunteer allows it) its own.
"""

import os
import socket
import threading
import time
from collections.abc import MutableMapping

EGRESS_ENV = "SEEKGIVE_EGRESS"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
BYPASS_VARIABLES = ("NO_PROXY", "no_proxy")
CHUNK_BYTES = 64 * 1024


def open_from_env(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Relay to the gateway if the task has one, and set the proxy variables;
    the proxy URL (``http://127.0.0.1:PORT``), or None without a gateway."""
    path = environ.get(EGRESS_ENV, "")
    if not path:
        return None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    threading.Thread(target=_accept, args=(listener, path), name="egress", daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for name in PROXY_VARIABLES:
        environ[name] = url
    # Nothing bypasses the gateway: there is no other way out.
    for name in BYPASS_VARIABLES:
        environ.pop(name, None)
    return url


def _accept(listener: socket.socket, path: str) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:  # out of file descriptors, say: try again shortly
            time.sleep(0.1)
            continue
        threading.Thread(target=_relay, args=(client, path), daemon=True).start()


def _relay(client: socket.socket, path: str) -> None:
    gateway = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        gateway.connect(path)
    except OSError:
        client.close()
        gateway.close()
        return
    back = threading.Thread(target=_copy, args=(gateway, client), daemon=True)
    back.start()
    _copy(client, gateway)
    back.join()
    client.close()
    gateway.close()


def _copy(source: socket.socket, sink: socket.socket) -> None:
    """Copy until `source` ends, then half-close `sink`."""
    try:
        while chunk := source.recv(CHUNK_BYTES):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
