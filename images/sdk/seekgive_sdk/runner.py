"""Running a scraper over a task: the ``run`` entry point of contract v1."""

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from .errors import KeyFailed, TaskError
from .output import OutputWriter, encode_records
from .settings import build_settings, describe_settings
from .task import load_task

logger = logging.getLogger(__name__)

S = TypeVar("S")
Scrape = Callable[[str, S], dict[str, Any] | list[dict[str, Any]] | None]

DEFAULT_INPUT = "/input/task.json"
DEFAULT_OUTPUT = "/output"
INPUT_ENV = "SEEKGIVE_INPUT"
OUTPUT_ENV = "SEEKGIVE_OUTPUT"

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_BAD_TASK = 2

MAX_REASON_CHARS = 1000


def run(scrape: Scrape[S], settings_cls: type[S]) -> NoReturn:
    """Run ``scrape`` over every key of the task and exit with the contract's exit code.

    Reads the task from ``$SEEKGIVE_INPUT`` (default /input/task.json), builds
    ``settings_cls`` from its settings and writes results to ``$SEEKGIVE_OUTPUT``
    (default /output). Exit code 0: the run completed (per-key failures are in
    status.jsonl); 2: the task is invalid; 1: the run crashed outside a key.
    Started with the single argument ``--help``, prints the settings and exits 0.
    """
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        code = _main(scrape, settings_cls, sys.argv[1:])
    except Exception:
        logger.exception("run failed")
        code = EXIT_CRASH
    sys.exit(code)


def _main(scrape: Scrape[S], settings_cls: type[S], args: Sequence[str]) -> int:
    if list(args) == ["--help"]:
        print(f"Settings:\n{describe_settings(settings_cls)}")
        return EXIT_OK
    if args:
        logger.error("unexpected arguments %s (the task comes from task.json)", list(args))
        return EXIT_BAD_TASK
    try:
        task = load_task(Path(os.environ.get(INPUT_ENV, DEFAULT_INPUT)))
        settings = build_settings(settings_cls, task.settings)
    except TaskError as e:
        logger.error("invalid task: %s", e)
        return EXIT_BAD_TASK
    logger.info("task %s of job %s: %d keys", task.task_id, task.job_id, task.total)
    failed = 0
    with OutputWriter(Path(os.environ.get(OUTPUT_ENV, DEFAULT_OUTPUT)), task.total) as output:
        for key in task.iter_keys():
            records, reason = _scrape_key(scrape, key, settings)
            output.add(key, records, reason)
            if reason is not None:
                failed += 1
    logger.info("task %s done: %d ok, %d failed", task.task_id, task.total - failed, failed)
    return EXIT_OK


def _scrape_key(scrape: Scrape[S], key: str, settings: S) -> tuple[str, str | None]:
    """Return the encoded records of ``key`` and, if it failed, the reason."""
    try:
        return encode_records(key, scrape(key, settings)), None
    except KeyFailed as e:
        return "", _truncate(e.reason)
    except Exception as e:
        logger.warning("key %r failed with an unexpected error", key, exc_info=True)
        message = str(e)
        reason = f"{type(e).__name__}: {message}" if message else type(e).__name__
        return "", _truncate(reason)


def _truncate(reason: str) -> str:
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    return reason[: MAX_REASON_CHARS - 3] + "..."
