"""A LAN of network namespaces, for tests and benchmarks of Givers found over mDNS.

One namespace holds a Linux bridge (the switch); each node is a namespace of
its own with one veth pair into the bridge, loopback up, an address in
`SUBNET`.0/24 on its `eth0` and a multicast route there. Every name carries
a token unique to the run, every link is created inside the namespaces (the
veth pair is made in the switch's namespace with its peer placed straight
into the node's), so the machine's own interfaces are never touched.
`Lan.delete()` (or leaving `with Lan(...)`) removes it all. Needs root and
`ip` (iproute2).

    with Lan("t1234") as lan:
        seeker = lan.node("seeker")
        seeker.popen(["seeker", "run", "--discover", "--host", "0.0.0.0"])
"""

import json
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

SUBNET = "10.231.7"
PREFIX = "sg"
DEVICE = "eth0"
WAIT_S = 60.0
FETCH = (
    "import sys, urllib.request\n"
    "headers = {'Authorization': 'Bearer ' + sys.argv[2]} if sys.argv[2] else {}\n"
    "request = urllib.request.Request(sys.argv[1], headers=headers)\n"
    "with urllib.request.urlopen(request, timeout=10) as r:\n"
    "    sys.stdout.buffer.write(r.read())\n"
)


class NetnsError(Exception):
    """An `ip` command failed; `command` is what ran."""

    def __init__(self, command: list[str], stderr: str) -> None:
        super().__init__(f"{' '.join(command)}: {stderr.strip()}")
        self.command = command


def ip(*args: str) -> None:
    """Run `ip ARGS`, raising NetnsError with its message if it fails."""
    command = ["ip", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise NetnsError(command, done.stderr)


@dataclass
class Node:
    """A namespace on the LAN: its name, its address, and how to run things in it."""

    netns: str
    address: str
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv]

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start `argv` in this namespace; `Lan.delete()` kills it if it still runs."""
        process = subprocess.Popen(self.command(argv), **kwargs)
        self.processes.append(process)
        return process

    def fetch_json(self, url: str, *, token: str = "") -> Any:
        """GET `url` from inside this namespace (as the operator holding `token`)
        and parse the JSON answer."""
        done = subprocess.run(
            self.command([sys.executable, "-c", FETCH, url, token]), capture_output=True, check=True
        )
        return json.loads(done.stdout)

    def readdress(self, address: str) -> None:
        """Move this node to `address` (the same /24): the old address goes away first
        (deleting a primary address would take any secondary one with it)."""
        ip("-n", self.netns, "addr", "del", f"{self.address}/24", "dev", DEVICE)
        ip("-n", self.netns, "addr", "add", f"{address}/24", "dev", DEVICE)
        ip("-n", self.netns, "route", "replace", "224.0.0.0/4", "dev", DEVICE)
        self.address = address


class Lan:
    """A bridge namespace and the node namespaces plugged into it."""

    def __init__(self, token: str = "") -> None:
        self.token = token or secrets.token_hex(3)
        self.switch = f"{PREFIX}-{self.token}-lan"
        self.nodes: dict[str, Node] = {}
        self._created: list[str] = []
        try:
            self._add_netns(self.switch)
            ip("-n", self.switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
            ip("-n", self.switch, "link", "set", "br0", "up")
        except NetnsError:
            self.delete()
            raise

    def node(self, name: str) -> Node:
        """A new namespace on the LAN with the next free address."""
        netns = f"{PREFIX}-{self.token}-{name}"
        address = f"{SUBNET}.{len(self.nodes) + 1}"
        port = f"v{len(self.nodes) + 1}"
        self._add_netns(netns)
        ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", DEVICE, "netns", netns)
        ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        ip("-n", netns, "link", "set", "lo", "up")
        ip("-n", netns, "addr", "add", f"{address}/24", "dev", DEVICE)
        ip("-n", netns, "link", "set", DEVICE, "up")
        ip("-n", netns, "route", "add", "224.0.0.0/4", "dev", DEVICE)
        self.nodes[name] = Node(netns, address)
        return self.nodes[name]

    def delete(self) -> None:
        """Kill what still runs in the nodes, then delete every namespace made."""
        for node in self.nodes.values():
            for process in node.processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        for netns in reversed(self._created):
            ip("netns", "del", netns)
        self._created.clear()

    def _add_netns(self, netns: str) -> None:
        ip("netns", "add", netns)
        self._created.append(netns)

    def __enter__(self) -> "Lan":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.delete()


class Lines:
    """What a process writes to a stream, line by line with the monotonic time each
    arrived, collected by a thread; the stream is closed at its end."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                with self._changed:
                    self.lines.append((time.monotonic(), line))
                    self._changed.notify_all()

    def text(self) -> str:
        return "".join(line for _, line in self.lines)

    def wait_for(self, pattern: str, since: int = 0, timeout_s: float = WAIT_S) -> float:
        """When the first line from line `since` on that matches `pattern` arrived,
        waiting for it; TimeoutError if none does within `timeout_s`."""
        found = re.compile(pattern)
        with self._changed:
            at = self._changed.wait_for(
                lambda: next((t for t, line in self.lines[since:] if found.search(line)), None),
                timeout=timeout_s,
            )
        if at is None:
            raise TimeoutError(f"no line matches {pattern!r} in:\n{self.text()}")
        return at

    def join(self) -> None:
        """Wait for the stream's end (the process exited)."""
        self._thread.join(timeout=WAIT_S)
