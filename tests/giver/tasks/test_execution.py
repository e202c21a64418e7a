"""What becomes of a task's output once its container is gone: a result in the
outbox, or nothing for a task released while its container ran (its Giver
stopping), whose keys the Seeker gives to another Giver. The container is
replaced by a runner that writes what a scraper would; the rest is the real path
(output collection, signing)."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from channel.wire import canonical
from channel.wire.identity import Identity
from channel.wire.models import KeyBlock, Task
from channel.wire.results import Result
from giver.egress.gateway import Gateway
from giver.link.outbox import Outbox
from giver.sandbox import outputs
from giver.sandbox.docker_runner import prepare_workdir
from giver.sandbox.outputs import ContainerExit
from giver.sandbox.runner import Runner
from giver.tasks.execution import work


class WritingRunner:
    """Runs a task by writing a record and an ok status for each of its keys."""

    async def run(self, task: Task, image_id: str, workdir: Path, *_: Any, **__: Any) -> Any:
        _, output_dir = prepare_workdir(task, workdir)
        with (output_dir / outputs.RECORDS_FILE).open("wb") as records:
            records.writelines(canonical.dumps({"key": k, "data": {}}) + b"\n" for k in task.block)
        with (output_dir / outputs.STATUS_FILE).open("wb") as status:
            status.writelines(canonical.dumps({"key": k, "ok": True}) + b"\n" for k in task.block)
        return ContainerExit(0)


class NoEgress:
    """A gateway for tasks without network: no door."""

    @contextlib.asynccontextmanager
    async def way_out(self, job_id: str, task_id: str, network: str) -> AsyncIterator[None]:
        yield None


class Kept:
    """An outbox that keeps what is put in it."""

    def __init__(self) -> None:
        self.results: list[Result] = []

    async def put(self, result: Result) -> None:
        self.results.append(result)


@pytest.mark.parametrize("released", [False, True])
async def test_a_task_released_while_its_container_ran_delivers_nothing(
    tmp_path: Path, released: bool
) -> None:
    task = Task("j1-000000.0", "j1", "x:1", {}, KeyBlock(("a", "b")))
    outbox = Kept()
    await work(
        task,
        "sha256:" + "0" * 64,
        identity=Identity.generate(),
        runner=cast(Runner, WritingRunner()),
        gateway=cast(Gateway, NoEgress()),
        outbox=cast(Outbox, outbox),
        workdir=tmp_path / task.task_id,
        send=lambda _: True,
        on_progress=lambda done, total: None,
        on_exited=lambda: not released,
    )
    delivered = [[r["key"] for r in result.records] for result in outbox.results]
    assert delivered == ([] if released else [["a", "b"]])
    assert not (tmp_path / task.task_id).exists()
