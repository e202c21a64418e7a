"""A daemon run until a signal, in a process of its own: the collector settled once it
has started."""

import json
import sys

from support.base import run

from channel.lifecycle import YOUNG_COLLECTION_EVERY

# A daemon whose serve() reports the collector as it finds it, in a fresh interpreter
# (freezing the heap is for a whole process, so not this one).
DAEMON = """
import asyncio, gc, json
from channel.lifecycle import run_until_signal

class Reporting:
    async def start(self):
        print(json.dumps({"frozen_before": gc.get_freeze_count()}))

    async def serve(self):
        print(json.dumps({"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}))

    async def stop(self):
        pass

asyncio.run(run_until_signal(Reporting()))
"""


async def test_a_started_daemon_freezes_its_heap_and_collects_young_objects_less_often() -> None:
    code, out, err = await run(sys.executable, "-c", DAEMON)
    assert code == 0, err
    before, served = map(json.loads, out.splitlines())
    assert before == {"frozen_before": 0}
    assert served["frozen"] > 0
    assert served["threshold"][0] == YOUNG_COLLECTION_EVERY
