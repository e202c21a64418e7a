"""The Giver's sandbox as `docker run` flags, for baselines that run a scraper by hand.

The same limits a Giver gives a task by default (channel.wire.models.Limits) and the
same fixed confinement (channel.wire.sandbox), so a plain `docker run` costs
what the container itself costs under the grid. The container has no network
of its own, as under a Giver; one that needs the network is given a door of an
egress gateway (scripts/egress_door.py) as a Giver gives it.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

from channel.wire import sandbox
from channel.wire.models import Limits


def sandbox_flags() -> list[str]:
    """`docker run` flags for a task's container with the default limits."""
    return sandbox.sandbox_flags(Limits(), "none", sandbox.FALLBACK_USER)


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
    way_out = None if egress is None else str(egress.resolve())
    subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            *sandbox_flags(),
            *sandbox.mounts(str(inp), str(out), way_out),
            image,
        ],
        check=True,
        capture_output=True,
    )
    return out
