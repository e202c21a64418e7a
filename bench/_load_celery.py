"""The load bench's baseline: the tool a user would otherwise pick to fan out work,
Celery with a Redis broker, running the same tasks (wait the task time, make the
records) at the same number of slots.

Debian's `redis-server` is started here on a free loopback port (no persistence)
and one Celery worker with `--pool threads --concurrency SLOTS`: the tasks only
wait, and threads are what Celery offers for waiting tasks without an extra
package or monkey-patching (gevent and eventlet need both); the prefork pool
would need a process per slot. Redis and the worker run beside where the
Seeker would (CPU 0); the producer here keeps at least one task per slot queued
from CPU 1. Tasks done are counted in Redis by the tasks themselves.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from _load_celery_app import DONE_COUNTER
from _load_fleet import Sizes
from _load_seeker import BIN, cpu_s, pin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import ferretdb

QUEUE = "celery"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
TOP_UP_S = 0.1


@contextlib.contextmanager
def redis_server(work: Path) -> Iterator[str]:
    """Debian's redis-server on a free port, nothing saved; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found; install the Debian package redis-server")
    port = ferretdb.free_port()
    with (work / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        ferretdb.wait_for_port(port, START_TIMEOUT_S, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        ferretdb.stop_process(process, STOP_TIMEOUT_S)


@contextlib.contextmanager
def celery_worker(work: Path, url: str, slots: int, cpu: int | None) -> Iterator[subprocess.Popen]:
    with (work / "celery.log").open("wb") as log:
        process = subprocess.Popen(
            [
                *(BIN / "celery", "-A", "_load_celery_app", "-b", url, "--result-backend", url),
                *("worker", "--pool", "threads", "--concurrency", str(slots)),
                *("--loglevel", "WARNING", "--without-heartbeat", "--without-gossip"),
                "--without-mingle",
            ],
            cwd=Path(__file__).parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    pin(process.pid, cpu)
    try:
        yield process
    finally:
        ferretdb.stop_process(process, STOP_TIMEOUT_S)


def keep_queued(url: str, sizes: Sizes, stop: threading.Event, cpu: int | None) -> None:
    """Keep at least one task per slot queued until `stop` is set."""
    from _load_celery_app import app

    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    app.conf.broker_url = url
    app.conf.result_backend = url
    slots = sizes.givers * sizes.slots
    args = (sizes.block_size, sizes.task_s, sizes.task_max_s, sizes.records_per_key)
    queue = redis.Redis.from_url(url)
    with app.producer_or_acquire() as producer:
        while not stop.is_set():
            for _ in range(max(0, slots - queue.llen(QUEUE))):
                app.send_task("load.noop", (*args, sizes.record_bytes, url), producer=producer)
            stop.wait(TOP_UP_S)


def measure(
    work: Path, sizes: Sizes, warmup_s: float, window_s: float, cpus: tuple[int | None, int | None]
) -> dict[str, Any]:
    """Tasks done per second and the efficiency against the ideal, over `window_s`
    after `warmup_s`; the worker's CPU ms per task."""
    worker_cpu, producer_cpu = cpus
    work.mkdir(parents=True)
    stop = threading.Event()
    with (
        redis_server(work) as url,
        celery_worker(work, url, sizes.givers * sizes.slots, worker_cpu) as worker,
    ):
        done = redis.Redis.from_url(url)
        producer = threading.Thread(target=keep_queued, args=(url, sizes, stop, producer_cpu))
        producer.start()
        try:
            time.sleep(warmup_s)
            if worker.poll() is not None:
                raise SystemExit(f"the Celery worker exited with code {worker.returncode}")
            before, cpu_before, started = (
                int(done.get(DONE_COUNTER) or 0),
                cpu_s(worker.pid),
                time.monotonic(),
            )
            time.sleep(window_s)
            after, cpu_after = int(done.get(DONE_COUNTER) or 0), cpu_s(worker.pid)
            took_s = time.monotonic() - started
        finally:
            stop.set()
            producer.join()
    tasks_per_s = (after - before) / took_s
    return {
        "tasks_per_s": round(tasks_per_s, 1),
        "efficiency": round(tasks_per_s / sizes.ideal_tasks_per_s, 3),
        "cpu_ms_per_task": round((cpu_after - cpu_before) * 1000 / max(after - before, 1), 2),
        "slots": sizes.givers * sizes.slots,
    }
