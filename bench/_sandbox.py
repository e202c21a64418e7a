"""The Giver's sandbox as `docker run` flags, for baselines that run a scraper by hand.

The same limits a Giver gives a task by default (channel.wire.models.Limits) and the
same fixed confinement (giver.docker_runner), so a plain `docker run` costs
what the container itself costs under the grid. The container has no network
of its own, as under a Giver; one that needs the network is given a door of an
egress gateway (scripts/egress_door.py) as a Giver gives it.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

from giver.docker_runner import EGRESS_DIR, EGRESS_ENV
from giver.egress.forwarding import SOCKET_NAME

OUTPUT_BYTES = 32 * 1024 * 1024


def sandbox_flags() -> list[str]:
    """`docker run` flags for a task's container."""
    return [
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        "/tmp:rw,noexec,nosuid,nodev,size=64m",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--memory",
        "512m",
        "--memory-swap",
        "512m",
        "--cpus",
        "1",
        "--pids-limit",
        "128",
        "--ulimit",
        f"fsize={OUTPUT_BYTES}",
        "--user",
        "65534:65534",
    ]


def docker_run(image: str, task: dict[str, Any], work: Path, egress: Path | None = None) -> Path:
    """Run `image` once over `task` (the contents of /input/task.json) as plain
    `docker run --rm` under the Giver's sandbox, its way out the gateway door
    `egress` (a directory holding the gateway's socket) if given; its output
    directory, under `work`."""
    inp, out = work / f"in-{task['task_id']}", work / f"out-{task['task_id']}"
    inp.mkdir()
    out.mkdir()
    out.chmod(0o777)
    (inp / "task.json").write_text(json.dumps(task))
    way_out = []
    if egress is not None:
        way_out = [
            "-v",
            f"{egress.resolve()}:{EGRESS_DIR}:ro",
            "-e",
            f"{EGRESS_ENV}={EGRESS_DIR}/{SOCKET_NAME}",
        ]
    subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            *sandbox_flags(),
            *way_out,
            "-v",
            f"{inp}:/input:ro",
            "-v",
            f"{out}:/output",
            image,
        ],
        check=True,
        capture_output=True,
    )
    return out
