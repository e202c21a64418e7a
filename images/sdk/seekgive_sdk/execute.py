"""Running a declared scraper over a task: one key after another, into the output files."""

import logging
from pathlib import Path
from typing import Any

from .context import Context
from .declaration import Declaration
from .errors import KeyFailed, KeyTimeout
from .output import OutputWriter, encode_records
from .ratelimit import RateLimiter
from .scraper import Scraper
from .settings import build_settings
from .task import load_task
from .timeout import KeyTimer

logger = logging.getLogger(__name__)

MAX_REASON_CHARS = 1000


def execute(declaration: Declaration, task_file: Path, output_dir: Path) -> None:
    """Scrape every key of the task in ``task_file`` into ``output_dir``.

    Raises TaskError, before writing anything, if the task or its settings are invalid.
    """
    task = load_task(task_file)
    settings, limits = build_settings(
        declaration.settings_class, declaration.settings, task.settings
    )
    logger.info("task %s of job %s: %d keys", task.task_id, task.job_id, task.total)
    limiter = RateLimiter(limits.rate_limit_per_s)
    timer = KeyTimer(limits.key_timeout_s)
    scraper = declaration.make_scraper()
    failed = 0
    with OutputWriter(output_dir, task.total, discover=task.discover) as output:
        scraper.open(settings)
        try:
            for key in task.iter_keys():
                ctx = Context(
                    key,
                    settings,
                    capturing=task.captures,
                    discovering=task.discover,
                    limiter=limiter,
                    timer=timer,
                )
                records, reason = _scrape_key(scraper, ctx, timer)
                output.add(key, records, reason, found=ctx.found if reason is None else ())
                if reason is not None:
                    failed += 1
        finally:
            scraper.close()
    logger.info("task %s done: %d ok, %d failed", task.task_id, task.total - failed, failed)


def _scrape_key(
    scraper: Scraper[Any], ctx: Context[Any], timer: KeyTimer
) -> tuple[str, str | None]:
    """Return the encoded records of the key and, if it failed, the reason."""
    try:
        result = timer.call(lambda: scraper.scrape(ctx.key, ctx))
        return encode_records(ctx.key, result, ctx.captured), None
    except (KeyFailed, KeyTimeout) as e:
        return "", _truncate(e.reason)
    except Exception as e:
        logger.warning("key %r failed with an unexpected error", ctx.key, exc_info=True)
        message = str(e)
        reason = f"{type(e).__name__}: {message}" if message else type(e).__name__
        return "", _truncate(reason)


def _truncate(reason: str) -> str:
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    return reason[: MAX_REASON_CHARS - 3] + "..."
