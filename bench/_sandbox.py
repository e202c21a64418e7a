"""The Giver's sandbox as `docker run` flags, for baselines that run a scraper by hand.

The same limits a Giver gives a task by default (channel.wire.models.Limits) and the
same fixed confinement (giver.docker_runner), so a plain `docker run` costs
what the container itself costs under the grid.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

OUTPUT_BYTES = 32 * 1024 * 1024


def sandbox_flags(network: str = "none") -> list[str]:
    """`docker run` flags for a task's container, with `network` as the job asks."""
    return [
        "--network",
        network,
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


def docker_run(image: str, task: dict[str, Any], work: Path, network: str = "none") -> Path:
    """Run `image` once over `task` (the contents of /input/task.json) as plain
    `docker run --rm` under the Giver's sandbox; its output directory, under `work`."""
    inp, out = work / f"in-{task['task_id']}", work / f"out-{task['task_id']}"
    inp.mkdir()
    out.mkdir()
    out.chmod(0o777)
    (inp / "task.json").write_text(json.dumps(task))
    subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            *sandbox_flags(network),
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
