"""The Giver's sandbox as `docker run` flags, for baselines that run a scraper by hand.

The same limits a Giver gives a task by default (channel.models.Limits) and the
same fixed confinement (giver.docker_runner), so a plain `docker run` costs
what the container itself costs under the grid.
"""

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
