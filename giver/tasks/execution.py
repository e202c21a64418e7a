"""Running one accepted task: its container, its output, and what becomes of it.

The task runs as a container from the image id resolved when it was accepted,
in its own work directory, removed afterwards; a task that needs the network
gets a door of the egress gateway for as long as its container lives. What the scraper wrote becomes
a Result signed by this Giver (its records sealed first when the task names a
recipient) and goes to the outbox; a container that could not run yields a
Result with every key failed and the error. Output that breaks the contract
yields no Result: the Seeker hears `Invalidate` instead.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from channel.errors import SealingError, WireError
from channel.wire import sealing
from channel.wire.identity import Identity
from channel.wire.messages import Invalidate, Message
from channel.wire.models import Task
from channel.wire.results import KeyOutcome, Result
from channel.wire.signing import sign_result
from giver.egress.gateway import Gateway
from giver.errors import GiverError
from giver.link.outbox import Outbox
from giver.sandbox import outputs
from giver.sandbox.runner import Runner

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Running:
    """A task holding a slot: as it runs (limits clamped to the caps), and its progress."""

    task: Task
    started_at: float
    done: int = 0
    total: int = 0


async def work(
    task: Task,
    image_id: str,
    *,
    identity: Identity,
    runner: Runner,
    gateway: Gateway,
    outbox: Outbox,
    workdir: Path,
    send: Callable[[Message], bool],
    on_progress: Callable[[int, int], None],
    on_exited: Callable[[], bool],
) -> None:
    """Run `task` in `workdir` and put its signed result in the outbox, or invalidate
    it if its output cannot be trusted; never raises but cancellation. `on_exited`
    is called once the container is gone, before the Seeker can hear of the result,
    and says whether the result is still wanted: a task released while its
    container ran (its Giver stopping) delivers nothing."""
    started_at = time.time()
    try:
        output = await execute(task, image_id, workdir, runner, gateway, on_progress)
        if not on_exited():
            log.info("task %s was released while it ran: its output is dropped", task.task_id)
            return
        if isinstance(output, outputs.UntrustedOutput):
            invalidate(task, output.reason, send)
            return
        try:
            # Sealing and signing many records takes a while: off the loop.
            result = await asyncio.to_thread(signed, identity, task, output, started_at, image_id)
        except (WireError, SealingError) as e:
            how = "sealed" if isinstance(e, SealingError) else "encoded"
            output = failed_output(task, f"the scraper's output cannot be {how}: {e}", output.log)
            result = await asyncio.to_thread(signed, identity, task, output, started_at, image_id)
        await outbox.put(result)
        ok = sum(o.ok for o in output.outcomes)
        log.info(
            "task %s finished: %d of %d key(s) ok, %d record(s)%s",
            task.task_id,
            ok,
            len(output.outcomes),
            len(output.records),
            f"; error: {output.error}" if output.error else "",
        )
    except GiverError as e:
        log.error("task %s: %s", task.task_id, e)
    except Exception:
        log.exception("task %s failed unexpectedly", task.task_id)
    finally:
        await asyncio.to_thread(remove_workdir, workdir)


def invalidate(task: Task, reason: str, send: Callable[[Message], bool]) -> None:
    """Tell the Seeker the task's output cannot be trusted."""
    log.warning("task %s: the scraper's output cannot be trusted: %s", task.task_id, reason)
    if not send(Invalidate(task.task_id, reason)):
        log.warning("task %s: no session to invalidate it in; its lease will lapse", task.task_id)


def signed(
    identity: Identity,
    task: Task,
    output: outputs.ScraperOutput,
    started_at: float,
    image_id: str = "",
) -> Result:
    """The Result of `task` from `output`, signed by this Giver, finished now. A
    sealed task's records are sealed to its recipient, and the result carries the
    agreement its copies are compared by; a result with a failed key carries its
    log and the id of the image (`image_id`) that ran. The signature covers all."""
    records, agreement = output.records, ""
    if task.seal_to:
        agreement = sealing.agreement(
            task.agreement_key, records, output.outcomes, task.ignore_fields
        )
        records = [
            sealing.seal_record(task.seal_to, task.job_id, r["key"], r["data"]) for r in records
        ]
    return sign_result(
        identity,
        Result(
            result_id=uuid.uuid4().hex,
            task_id=task.task_id,
            job_id=task.job_id,
            giver_id=identity.id,
            records=records,
            outcomes=output.outcomes,
            error=output.error,
            started_at=started_at,
            finished_at=time.time(),
            agreement=agreement,
            discovered=output.discovered,
            log=output.log,
            image_id=image_id if output.log else "",
        ),
    )


async def execute(
    task: Task,
    image_id: str,
    workdir: Path,
    runner: Runner,
    gateway: Gateway,
    on_progress: Callable[[int, int], None],
) -> outputs.ScraperOutput | outputs.UntrustedOutput:
    """What the scraper produced, or a failed output if the container could not run.
    A task whose network is "bridge" goes out through a door of `gateway` only."""
    try:
        async with gateway.way_out(task.job_id, task.task_id, task.network) as egress:
            run = await runner.run(task, image_id, workdir, on_progress, egress=egress)
    except (GiverError, OSError) as e:
        return failed_output(task, str(e))
    return await asyncio.to_thread(
        outputs.collect, workdir / "output", task, run, max_bytes=task.limits.output_bytes
    )


def remove_workdir(workdir: Path) -> None:
    """Remove a task's work directory (or all of them), warning about what remains."""
    try:
        outputs.remove_tree(workdir)
    except OSError as e:
        log.warning(
            "cannot remove all of %s (%s: a scraper left files it alone may delete)",
            workdir,
            e.strerror,
        )


def failed_output(task: Task, reason: str, log: str = "") -> outputs.ScraperOutput:
    """The output of a task that could not run or be sent: every key failed for
    `reason`, with the container's `log` if it ran."""
    return outputs.ScraperOutput(
        outcomes=[KeyOutcome(key, False, reason) for key in task.block], error=reason, log=log
    )
