"""A scraper's declaration: everything ``run`` is told about it, checked once.

Both forms (a function with keyword arguments, a Scraper subclass with class
attributes) become one Declaration. Mistakes raise TypeError or ValueError.
"""

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import TaskError
from .fields import Setting, read_fields
from .resources import Resources
from .scraper import FunctionScraper, ScrapeFunction, Scraper
from .settings import (
    DEFAULT_KEY_TIMEOUT_S,
    DEFAULT_RATE_LIMIT_PER_S,
    STANDARD_NAMES,
    NoSettings,
    check_value,
    standard_settings,
)

NAME_PATTERN = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")


@dataclass(frozen=True)
class Declaration:
    """A checked scraper declaration.

    ``settings`` holds the scraper's own settings in field order, then the
    standard ones; ``make_scraper`` makes the instance that scrapes a run.
    """

    name: str
    description: str
    settings_class: type
    settings: tuple[Setting, ...]
    resources: Resources
    make_scraper: Callable[[], Scraper[Any]]


def declare(
    scraper: ScrapeFunction | type[Scraper[Any]],
    settings_class: type | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    resources: Resources | None = None,
    rate_limit_per_s: float | None = None,
    key_timeout_s: float | None = None,
) -> Declaration:
    """Check the declaration of a scraper given in either form (see ``run``)."""
    if isinstance(scraper, type):
        if not issubclass(scraper, Scraper):
            raise TypeError(f"{scraper.__name__} is a class but not a seekgive_sdk.Scraper")
        arguments = {
            "settings_class": settings_class,
            "name": name,
            "description": description,
            "resources": resources,
            "rate_limit_per_s": rate_limit_per_s,
            "key_timeout_s": key_timeout_s,
        }
        given = [argument for argument, value in arguments.items() if value is not None]
        if given:
            raise TypeError(f"declare {given[0]} as a class attribute of {scraper.__name__}")
        return _declaration(
            scraper.name,
            _first_paragraph(scraper.__doc__),
            scraper.settings_class,
            scraper.resources,
            scraper.rate_limit_per_s,
            scraper.key_timeout_s,
            scraper,
        )
    if not callable(scraper):
        raise TypeError(f"run takes a scrape function or a Scraper subclass, not {scraper!r}")
    if name is None:
        raise TypeError("run(scrape, ...) needs the scraper's name=")
    function = scraper
    return _declaration(
        name,
        _first_paragraph(scraper.__doc__) if description is None else description,
        settings_class,
        Resources() if resources is None else resources,
        rate_limit_per_s,
        key_timeout_s,
        lambda: FunctionScraper(function),
    )


def _declaration(
    name: str,
    description: str,
    settings_class: type | None,
    resources: Resources,
    rate_limit_per_s: float | None,
    key_timeout_s: float | None,
    make_scraper: Callable[[], Scraper[Any]],
) -> Declaration:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"scraper name {name!r} must be lowercase letters and digits, "
            "separated by single '.', '_' or '-' (it names the image)"
        )
    if not isinstance(description, str):
        raise TypeError(f"description must be a str, not {description!r}")
    if not isinstance(resources, Resources):
        raise TypeError(f"resources must be a seekgive_sdk.Resources, not {resources!r}")
    settings_class = NoSettings if settings_class is None else settings_class
    own = read_fields(settings_class)
    for setting in own:
        if setting.name in STANDARD_NAMES:
            raise TypeError(f"setting {setting.name!r} is a standard setting; rename it")
        if not setting.required:
            _check_default(setting)
    standard = standard_settings(
        DEFAULT_RATE_LIMIT_PER_S if rate_limit_per_s is None else rate_limit_per_s,
        DEFAULT_KEY_TIMEOUT_S if key_timeout_s is None else key_timeout_s,
    )
    for setting in standard:
        _check_default(setting)
    return Declaration(
        name=name,
        description=description,
        settings_class=settings_class,
        settings=own + standard,
        resources=resources,
        make_scraper=make_scraper,
    )


def _check_default(setting: Setting) -> None:
    try:
        check_value(setting.name, setting.type, setting.default)
    except TaskError as e:
        raise TypeError(f"bad default: {e}") from e


def _first_paragraph(docstring: str | None) -> str:
    """The first paragraph of ``docstring`` on one line ("" without one)."""
    paragraph = inspect.cleandoc(docstring or "").split("\n\n", 1)[0]
    return " ".join(paragraph.split())
