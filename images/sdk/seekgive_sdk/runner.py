"""The ``run`` entry point: a scraper script's commands and exit codes."""

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import egress
from .declaration import Declaration, declare
from .errors import TaskError
from .execute import execute
from .resources import Resources
from .schema import help_text, labels, settings_schema
from .scraper import ScrapeFunction, Scraper

logger = logging.getLogger(__name__)

DEFAULT_INPUT = "/input/task.json"
DEFAULT_OUTPUT = "/output"
INPUT_ENV = "SEEKGIVE_INPUT"
OUTPUT_ENV = "SEEKGIVE_OUTPUT"

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_BAD_TASK = 2


def run(
    scraper: ScrapeFunction | type[Scraper[Any]],
    settings_class: type | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    resources: Resources | None = None,
    rate_limit_per_s: float | None = None,
    key_timeout_s: float | None = None,
) -> NoReturn:
    """Declare a scraper and do what the script's arguments say, then exit.

    ``scraper`` is a function ``scrape(key, ctx)`` declared by the keyword
    arguments (``name`` is required; ``description`` defaults to the first
    paragraph of its docstring), or a Scraper subclass that declares all of
    it as class attributes. ``settings_class`` is a dataclass (None: no
    settings). ``rate_limit_per_s`` (default 0, no limit) and
    ``key_timeout_s`` (default 60) are the defaults of the standard settings.

    Without arguments, runs the task from ``$SEEKGIVE_INPUT`` (default
    /input/task.json) into ``$SEEKGIVE_OUTPUT`` (default /output) and exits
    0 when every key was tried, 2 when the task is invalid, 1 on a crash.
    ``schema``, ``labels`` and ``--help`` print the settings' JSON Schema, the
    image labels (JSON) or the settings in words. A mistake in the
    declaration raises TypeError or ValueError.
    """
    declaration = declare(
        scraper,
        settings_class,
        name=name,
        description=description,
        resources=resources,
        rate_limit_per_s=rate_limit_per_s,
        key_timeout_s=key_timeout_s,
    )
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        code = _main(declaration, sys.argv[0], sys.argv[1:])
    except Exception:
        logger.exception("run failed")
        code = EXIT_CRASH
    sys.exit(code)


def _main(declaration: Declaration, program: str, args: Sequence[str]) -> int:
    command = list(args)
    if command == ["schema"]:
        print(json.dumps(settings_schema(declaration), indent=2))
        return EXIT_OK
    if command == ["labels"]:
        print(json.dumps(labels(declaration), indent=2))
        return EXIT_OK
    if command in (["--help"], ["-h"]):
        print(help_text(declaration, program))
        return EXIT_OK
    if command:
        logger.error(
            "unexpected arguments %s: use schema, labels or --help, or none to run the task",
            command,
        )
        return EXIT_BAD_TASK
    egress.open_from_env()
    try:
        execute(
            declaration,
            Path(os.environ.get(INPUT_ENV, DEFAULT_INPUT)),
            Path(os.environ.get(OUTPUT_ENV, DEFAULT_OUTPUT)),
        )
    except TaskError as e:
        logger.error("invalid task: %s", e)
        return EXIT_BAD_TASK
    return EXIT_OK
