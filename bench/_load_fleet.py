"""The load bench's fleet: many Givers in this one process, each the real Giver daemon
(giver.daemon.Giver: its own identity, admission by token, a WebSocket session,
capability reports, Assigns checked against the Seeker's key, progress reports,
signed results through its outbox to the Channel), with one part replaced: its
tasks run in `SleepRunner`, which waits the task's time instead of running a
container and writes the records a scraper would.

Run by bench/load.py as `python bench/_load_fleet.py FLEET.json`, pinned to a core of
its own. It writes one line per result the Channel acknowledged to the file
`delivered` names (`{"task_id", "job_id", "keys", "at"}`), and on SIGTERM writes
its summary to the file `summary` names (how long a slot waited from its task's
end to its next Assign, in ms), then stops every Giver.
"""

import asyncio
import dataclasses
import json
import logging
import math
import os
import random
import signal
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from channel.lifecycle import settle_heap  # noqa: E402
from channel.wire import canonical  # noqa: E402
from channel.wire.messages import Assign  # noqa: E402
from channel.wire.models import Task  # noqa: E402
from channel.wire.results import Result  # noqa: E402
from giver.daemon import Giver  # noqa: E402
from giver.errors import DockerError  # noqa: E402
from giver.sandbox import outputs  # noqa: E402
from giver.sandbox.docker_runner import prepare_workdir  # noqa: E402
from giver.sandbox.images import LocalImage  # noqa: E402
from giver.sandbox.outputs import ContainerExit  # noqa: E402
from giver.sandbox.runner import ProgressCallback  # noqa: E402
from giver.terms.config import GiverConfig  # noqa: E402

IMAGE_ID = "sha256:" + "0" * 64
# Givers starting at once: a fleet coming up, not a registration flood.
STARTING_AT_ONCE = 50
# Threads for the Givers' off-loop work (work dirs, outputs, signing, the outbox).
THREADS = 32


@dataclasses.dataclass(frozen=True, slots=True)
class Sizes:
    """The load: Givers and their slots, each task's time (drawn between `task_s`
    and `task_max_s`) and records, the jobs' sizes, and a small job every
    `small_every_s`."""

    givers: int
    slots: int
    task_s: float
    task_max_s: float
    records_per_key: int
    record_bytes: int
    range_keys: int
    explicit_keys: int
    small_keys: int
    small_every_s: float
    block_size: int

    @property
    def ideal_tasks_per_s(self) -> float:
        """Slots over the mean task time: what the Givers could do if never idle."""
        return self.givers * self.slots / ((self.task_s + self.task_max_s) / 2)


@dataclasses.dataclass(frozen=True, slots=True)
class Fleet:
    """What bench/load.py asks of the fleet (written as FLEET.json)."""

    seeker_url: str
    token: str
    sizes: Sizes
    data_dir: str
    delivered: str
    summary: str
    cpu: int | None


class SleepRunner:
    """Runs a Giver's tasks without a container: each waits a time drawn between the
    fleet's task time and its longest (`_task_s`), reports progress halfway, then writes
    `records_per_key` records of `record_bytes` for each key and every key ok. It
    holds one image: whatever a task names."""

    def __init__(self, sizes: Sizes) -> None:
        self._sizes = sizes
        self._first_tasks = sizes.slots

    def _task_s(self) -> float:
        """How long the next task takes. A slot's first is the rest of a task already
        under way (a length-biased draw, cut at a uniform point), as in a grid that
        has run for a while: the slots then end their tasks at the steady rate from
        the start, instead of together, so a short window counts what a long one would."""
        low, high = self._sizes.task_s, self._sizes.task_max_s
        if self._first_tasks > 0:
            self._first_tasks -= 1
            return random.uniform(0, math.sqrt(random.uniform(low**2, high**2)))
        return random.uniform(low, high)

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def version(self) -> str:
        return "load-bench"

    async def resolve_image(self, reference: str) -> LocalImage:
        return LocalImage(IMAGE_ID, (reference,), ())

    async def load_image(self, archive: Path) -> list[str]:
        # Never asked: every image resolves here, so none is fetched from the Seeker.
        raise DockerError("the load bench's Givers load no image archive")

    async def tag_image(self, image_id: str, repository: str, tag: str) -> None:
        return None

    async def remove_image(self, image_id: str) -> bool:
        return False

    async def local_images(self) -> list[LocalImage]:
        return []

    async def remove_leftovers(self) -> int:
        return 0

    async def run(
        self,
        task: Task,
        image_id: str,
        workdir: Path,
        on_progress: ProgressCallback,
        *,
        egress: Path | None = None,
    ) -> ContainerExit:
        _, output_dir = await asyncio.to_thread(prepare_workdir, task, workdir)
        keys = list(task.block)
        took_s = self._task_s()
        await asyncio.sleep(took_s / 2)
        on_progress(len(keys) // 2, len(keys))
        await asyncio.sleep(took_s / 2)
        await asyncio.to_thread(self._write, output_dir, keys)
        return ContainerExit(0)

    def _write(self, output_dir: Path, keys: list[str]) -> None:
        pad = "x" * self._sizes.record_bytes
        with (output_dir / outputs.RECORDS_FILE).open("wb") as records:
            for key in keys:
                line = canonical.dumps({"key": key, "data": {"pad": pad}}) + b"\n"
                records.write(line * self._sizes.records_per_key)
        with (output_dir / outputs.STATUS_FILE).open("wb") as status:
            status.writelines(canonical.dumps({"key": k, "ok": True}) + b"\n" for k in keys)


class LoadGiver(Giver):
    """A Giver that notes when a slot frees, when the next Assign comes, and each
    result the Channel acknowledged."""

    def __init__(self, config: GiverConfig, fleet: Fleet, tally: "Tally") -> None:
        runner = SleepRunner(fleet.sizes)

        async def connect(giver_id: str, **_: Any) -> SleepRunner:
            return runner

        super().__init__(config, connect_runner=connect)
        self._tally = tally
        self._freed: deque[float] = deque()

    def _exited(self, task_id: str) -> bool:
        self._freed.append(time.monotonic())
        return super()._exited(task_id)

    async def _assign(self, message: Assign) -> None:
        if self._freed:
            self._tally.assign_ms.append((time.monotonic() - self._freed.popleft()) * 1000)
        await super()._assign(message)

    def _on_delivered(self, result: Result) -> None:
        self._tally.delivered(result)
        super()._on_delivered(result)


class Tally:
    """What the fleet measured, and the results the Channel acknowledged."""

    def __init__(self, delivered: IO[str]) -> None:
        self.assign_ms: list[float] = []
        self._delivered = delivered

    def delivered(self, result: Result) -> None:
        keys = [outcome.key for outcome in result.outcomes if outcome.ok]
        line = {"task_id": result.task_id, "job_id": result.job_id, "keys": keys}
        self._delivered.write(json.dumps({**line, "at": time.time()}) + "\n")


async def run_fleet(fleet: Fleet, delivered: IO[str]) -> None:
    """Run the fleet until SIGTERM, then write its summary and stop its Givers."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(THREADS, thread_name_prefix="fleet"))
    stopping = asyncio.Event()
    # A plain handler, not the loop's: the loop learns of its signals through its
    # self-pipe, which a thousand Givers' finished thread work can fill, and a
    # SIGTERM that finds it full is lost; a plain handler runs regardless.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stopping.set))
    tally = Tally(delivered)
    givers = [
        LoadGiver(
            GiverConfig(
                seeker_url=fleet.seeker_url,
                data_dir=Path(fleet.data_dir) / f"g{n}",
                name=f"load-{n}",
                slots=fleet.sizes.slots,
                token=fleet.token,
            ),
            fleet,
            tally,
        )
        for n in range(fleet.sizes.givers)
    ]
    gate = asyncio.Semaphore(STARTING_AT_ONCE)
    failed: list[BaseException] = []
    starting = len(givers)

    async def start_and_serve(giver: LoadGiver) -> None:
        nonlocal starting
        try:
            try:
                async with gate:
                    await giver.start()
            finally:
                starting -= 1
                if starting == 0:
                    # What a Giver's own process does once it has started.
                    settle_heap()
            await giver.serve()
        except Exception as e:
            failed.append(e)
            logging.getLogger("fleet").error("a Giver failed: %r", e)

    serving = [asyncio.create_task(start_and_serve(giver)) for giver in givers]
    await stopping.wait()
    # Written before the Givers stop: a thousand draining on a busy core may outlast
    # the bench's patience, and what they did until now is what it measures.
    summary = {"assign_ms": tally.assign_ms, "failed": [repr(e) for e in failed[:5]]}
    await asyncio.to_thread(Path(fleet.summary).write_text, json.dumps(summary))
    await asyncio.gather(*(giver.stop() for giver in givers), return_exceptions=True)
    for task in serving:
        task.cancel()
    await asyncio.gather(*serving, return_exceptions=True)


def main() -> None:
    asked = json.loads(Path(sys.argv[1]).read_text())
    fleet = Fleet(**{**asked, "sizes": Sizes(**asked["sizes"])})
    if fleet.cpu is not None:
        os.sched_setaffinity(0, {fleet.cpu})
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    with open(fleet.delivered, "w", buffering=1) as delivered:
        asyncio.run(run_fleet(fleet, delivered))


if __name__ == "__main__":
    main()
