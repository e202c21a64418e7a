"""Whether a task the Seeker assigns may run on this Giver, and as which local image.

In order: the Seeker key this Giver trusts signed the task for this Giver, the
task speaks this Giver's contract and its id is a safe name, it is not already
running here, it asks for the host's network only if the volunteer allows
that, a slot is free, its limits (already clamped to the caps) fit
beside the running tasks' and the disk cap leaves room for its output, and its
image is present and allowed by the volunteer's image policy, or absent but
pinned by id and allowed, to be fetched from the Seeker (giver.sandbox.delivery). The
first check that fails gives the reason the Seeker hears in `Refuse`, marked as
the Giver's policy when its settings or its images would refuse the job's other
tasks as well (the Seeker then offers it none of them).
"""

import re
from collections.abc import Collection
from dataclasses import dataclass

from channel.wire.identity import verify_value
from channel.wire.messages import Assign
from channel.wire.models import CONTRACT_VERSION, Limits, Task
from giver.errors import GiverError
from giver.link.outbox import Outbox
from giver.sandbox.delivery import Deliveries, Wanted
from giver.sandbox.images import ImagePolicy, LocalImage, refusal
from giver.sandbox.runner import Runner
from giver.terms.capacity import Caps
from giver.terms.pinning import SeekerKeyPin

SAFE_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a task may not run here; `policy` if every task of its job would be
    refused for the same reason until the Giver's settings or images change."""

    reason: str
    policy: bool = False


@dataclass(frozen=True, slots=True)
class TaskChecks:
    """The volunteer's settings an assigned task is checked against: the trusted
    Seeker key, the caps, the image policy and the number of slots."""

    pin: SeekerKeyPin
    caps: Caps
    policy: ImagePolicy
    slots: int
    allow_host_network: bool = False

    async def refusal(
        self,
        message: Assign,
        task: Task,
        *,
        giver_id: str,
        running: Collection[str],
        busy: list[Limits],
        outbox: Outbox | None,
        runner: Runner,
        deliveries: Deliveries,
    ) -> LocalImage | Wanted | Refused:
        """The local image the assigned task (`task`: as the message says, its limits
        clamped to the caps) will run as, the image to fetch for it, or why it cannot
        run here. `running` are the ids of the tasks running here, `busy` the limits
        of those holding a slot."""
        if not message.signature:
            return Refused("the task carries no signature of the Seeker")
        if not self.pin.key or not verify_value(
            self.pin.key, Assign.signed_value(giver_id, message.task), message.signature
        ):
            return Refused(
                f"the task's signature does not verify with the Seeker key this Giver "
                f"trusts ({self.pin.key or 'none pinned yet'}); it was altered, meant for "
                "another Giver, or not sent by the Seeker"
            )
        if task.contract != CONTRACT_VERSION:
            return Refused(
                f"contract {task.contract} is not supported "
                f"(this Giver speaks contract {CONTRACT_VERSION})",
                policy=True,
            )
        if not SAFE_TASK_ID.fullmatch(task.task_id):
            return Refused("the task id is not a safe name (letters, digits, '_', '.', '-')")
        if task.task_id in running:
            return Refused("the task is already running here")
        if task.network == "host" and not self.allow_host_network:
            return Refused(
                "the task asks for the host's network, which this Giver's volunteer does not "
                "allow (allow_host_network is off); ask for bridge: the network through "
                "the Giver's egress gateway",
                policy=True,
            )
        if len(busy) >= self.slots:
            return Refused(f"no free slot (all {self.slots} are busy)")
        over = self.caps.over(busy, task.limits)
        if over is not None:
            return Refused(f"no room under the volunteer's {over}")
        if outbox is not None and self.caps.disk_bytes is not None:
            waiting = (await outbox.stats()).bytes
            full = self.caps.disk_full(waiting, len(busy))
            if full is not None:
                return Refused(f"this Giver {full}")
        fetching = deliveries.fetching(task.image)
        try:
            image = await runner.resolve_image(task.image)
        except GiverError as e:
            return Refused(f"cannot check image {task.image}: {e}")
        if image is None or fetching or deliveries.fetching(task.image):
            wanted = deliveries.wanted(task.image)
            if isinstance(wanted, str):
                return Refused(wanted, policy=not deliveries.failed_lately(task.image))
            return wanted
        reason = refusal(task.image, image, self.policy)
        return Refused(reason, policy=True) if reason else image
