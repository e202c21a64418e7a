"""The volunteer's caps on what this Giver's containers use together. Pure logic.

`cpus` and `memory` cap the sum of the running containers' limits: each
task's limits are first clamped to the caps, and a task is taken only while
the running tasks' limits plus its own fit. `disk` caps result outputs: the
results waiting in the outbox plus what running tasks may still write.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from channel.wire.givers import Capabilities
from channel.wire.models import Limits
from giver.sandbox.outputs import MAX_OUTPUT_BYTES

MIB = 2**20


@dataclass(frozen=True, slots=True)
class Caps:
    """The volunteer's caps; None where the machine's own size is the only bound."""

    cpus: float | None = None
    memory_bytes: int | None = None
    disk_bytes: int | None = None

    def clamp(self, limits: Limits) -> Limits:
        """`limits` lowered to the caps, so one container never exceeds them alone."""
        cpus = limits.cpus if self.cpus is None else min(limits.cpus, self.cpus)
        memory = limits.memory_bytes
        if self.memory_bytes is not None:
            memory = min(memory, self.memory_bytes)
        return replace(
            limits,
            cpus=cpus,
            memory_bytes=memory,
            output_bytes=min(limits.output_bytes, self.output_bytes),
        )

    @property
    def output_bytes(self) -> int:
        """The most one task may write as its result: what the Giver reads of any
        output at most, lowered to the disk cap. Each task's own limit is clamped to it."""
        if self.disk_bytes is None:
            return MAX_OUTPUT_BYTES
        return min(MAX_OUTPUT_BYTES, self.disk_bytes)

    def offered(self, machine: Capabilities) -> Capabilities:
        """What the Seeker hears: the machine's CPUs and memory, lowered to the caps."""
        cpus, memory = machine.cpus, machine.memory_bytes
        if self.cpus is not None:
            cpus = min(cpus, max(1, math.ceil(self.cpus)))
        if self.memory_bytes is not None:
            memory = min(memory, self.memory_bytes)
        return replace(machine, cpus=cpus, memory_bytes=memory)

    def over(self, running: Iterable[Limits], task: Limits) -> str | None:
        """Why `task` (clamped) cannot start beside the `running` ones (clamped), or None."""
        running = list(running)
        if self.cpus is not None:
            used = sum(r.cpus for r in running)
            if used + task.cpus > self.cpus + 1e-9:
                return (
                    f"CPU cap: running tasks use {used:g} of {self.cpus:g} CPU(s), "
                    f"this task needs {task.cpus:g}"
                )
        if self.memory_bytes is not None:
            used = sum(r.memory_bytes for r in running)
            if used + task.memory_bytes > self.memory_bytes:
                return (
                    f"memory cap: running tasks use {used // MIB} of {self.memory_bytes // MIB} "
                    f"MiB, this task needs {task.memory_bytes // MIB} MiB"
                )
        return None

    def disk_full(self, waiting_bytes: int, running: int) -> str | None:
        """Why no task can start while `waiting_bytes` of results wait for upload and
        `running` tasks may still write theirs, or None. Phrased to follow the Giver's name."""
        if self.disk_bytes is None:
            return None
        reserved = running * self.output_bytes
        if waiting_bytes + reserved + self.output_bytes <= self.disk_bytes:
            return None
        running_part = (
            f" and running tasks may write {math.ceil(reserved / MIB)} MiB more" if reserved else ""
        )
        return (
            f"has {math.ceil(waiting_bytes / MIB)} MiB of results waiting to be uploaded"
            f"{running_part} (disk cap {self.disk_bytes // MIB} MiB)"
        )
