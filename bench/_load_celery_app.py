"""The Celery app of the load bench's baseline: one task that does what a simulated
Giver's task does (waits its time, then makes its records) and counts itself done.

The worker is started with the broker and result backend on its command line
(`celery -A _load_celery_app -b URL --result-backend URL worker`); the task is
given the Redis URL it counts in.
"""

import functools
import random
import time
from typing import Any

import redis
from celery import Celery

DONE_COUNTER = "load:done"

app = Celery("load")
# Results are read by nobody here; they need not outlive the run.
app.conf.result_expires = 120


@functools.cache
def counter(url: str) -> "redis.Redis[bytes]":
    return redis.Redis.from_url(url)


@app.task(name="load.noop")
def noop(
    keys: int, task_s: float, task_max_s: float, per_key: int, record_bytes: int, url: str
) -> list[dict[str, Any]]:
    """Wait between `task_s` and `task_max_s`, count one done, and return `per_key`
    records of `record_bytes` for each of `keys` keys."""
    time.sleep(random.uniform(task_s, task_max_s))
    pad = "x" * record_bytes
    records = [{"key": str(n), "data": {"pad": pad}} for n in range(keys) for _ in range(per_key)]
    counter(url).incr(DONE_COUNTER)
    return records
