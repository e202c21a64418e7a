"""Where the volunteer's address went: every request through the gateway, per job
and host, live and in a log.

The live view holds, for each of the last LIVE_JOBS jobs, each host asked for:
requests, bytes each way, refusals, and the class of each answer where the
gateway can see it (plain HTTP: 2xx, 3xx...; a TLS tunnel is "tunnel"; then
"refused", "failed" and "cut" by a traffic cap). A job keeps at most
LIVE_HOSTS hosts; the rest are counted together as "other hosts".
`giver status` shows it. The log, `egress.log` in the data dir, has one JSON
line per request (time, job, task, host, port, method, outcome, bytes) and is
rotated at LOG_BYTES, keeping LOG_BACKUPS old files, so it never holds more
than a few MiB. Where a volunteer's address went is theirs to know: the log
files are readable by the Giver's user only.
"""

import collections
import io
import json
import logging
import logging.handlers
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LIVE_JOBS = 20
LIVE_HOSTS = 200
OTHER_HOSTS = "other hosts"
LOG_FILE = "egress.log"
LOG_BYTES = 1024 * 1024
LOG_BACKUPS = 3


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request through the gateway, once it ended: `outcome` is the answer's
    class ("2xx"...), "tunnel", "refused", "failed" or "cut"."""

    job_id: str
    task_id: str
    host: str
    port: int
    method: str
    outcome: str
    sent: int = 0
    received: int = 0
    reason: str = ""
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class HostTally:
    requests: int = 0
    sent: int = 0
    received: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)

    def to_view(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "bytes_sent": self.sent,
            "bytes_received": self.received,
            "outcomes": dict(sorted(self.outcomes.items())),
        }


def authority(host: str, port: int) -> str:
    """`host:port`, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file is created readable by its owner only."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


class Ledger:
    """The live view and the log of `data_dir`; safe to use from any thread."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOG_FILE
        self._lock = threading.Lock()
        self._jobs: collections.OrderedDict[str, dict[str, HostTally]] = collections.OrderedDict()
        self._log = logging.getLogger(f"giver.egress.log.{id(self)}")
        self._log.propagate = False
        self._log.setLevel(logging.INFO)
        self._handler: logging.Handler | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handler = PrivateRotatingFile(
            self.path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
        self._log.addHandler(self._handler)

    def close(self) -> None:
        handler, self._handler = self._handler, None
        if handler is not None:
            self._log.removeHandler(handler)
            handler.close()

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            hosts = self._jobs.pop(exchange.job_id, None) or {}
            self._jobs[exchange.job_id] = hosts
            while len(self._jobs) > LIVE_JOBS:
                self._jobs.popitem(last=False)
            host = authority(exchange.host, exchange.port)
            if host not in hosts and len(hosts) >= LIVE_HOSTS:
                host = OTHER_HOSTS
            tally = hosts.setdefault(host, HostTally())
            tally.requests += 1
            tally.sent += exchange.sent
            tally.received += exchange.received
            tally.outcomes[exchange.outcome] += 1
        line = {
            "at": round(exchange.at, 3),
            "job_id": exchange.job_id,
            "task_id": exchange.task_id,
            "host": exchange.host,
            "port": exchange.port,
            "method": exchange.method,
            "outcome": exchange.outcome,
            "bytes_sent": exchange.sent,
            "bytes_received": exchange.received,
        }
        if exchange.reason:
            line["reason"] = exchange.reason
        self._log.info("%s", json.dumps(line, separators=(",", ":")))

    def view(self) -> dict[str, dict[str, Any]]:
        """Job id → "host:port" → its tally."""
        with self._lock:
            return {
                job_id: {host: tally.to_view() for host, tally in sorted(hosts.items())}
                for job_id, hosts in self._jobs.items()
            }
