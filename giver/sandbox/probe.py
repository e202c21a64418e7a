"""What this machine offers: CPUs, memory, architecture, OS, Docker version, the
scraper images it has that its volunteer's policy allows (by id, see
giver.sandbox.images), and the labels its volunteer gave it."""

import os
import platform
from collections.abc import Mapping
from pathlib import Path

from channel.wire.givers import Capabilities
from channel.wire.platforms import platform_arch
from giver.sandbox.images import ImagePolicy, offered
from giver.sandbox.runner import Runner

MEMINFO = Path("/proc/meminfo")


async def probe(
    runner: Runner, policy: ImagePolicy, *, slots: int, labels: Mapping[str, str]
) -> Capabilities:
    """The Capabilities a Giver reports now; cheap enough to call after every task.

    Raises DockerError if the Engine does not answer.
    """
    docker_version = await runner.version()
    images = offered(await runner.local_images(), policy)
    return Capabilities(
        cpus=cpu_count(),
        memory_bytes=memory_bytes(),
        arch=arch(),
        os=platform.system().lower(),
        docker_version=docker_version,
        slots=slots,
        images=images,
        labels=dict(labels),
    )


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def memory_bytes() -> int:
    """Total memory: MemTotal from /proc/meminfo, else pages times page size."""
    try:
        for line in MEMINFO.read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "MemTotal":
                return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def arch(machine: str | None = None) -> str:
    """The architecture of `machine` (default this one's) as a platform name (amd64,
    arm64, arm/v7, ...); a machine name no platform matches, as the machine says it."""
    machine = platform.machine() if machine is None else machine
    return platform_arch(machine) or machine.strip().lower()
