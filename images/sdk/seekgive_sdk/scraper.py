"""The class form of a scraper, and the function form wrapped into it."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from .context import Context
from .resources import Resources

S = TypeVar("S")
Result = dict[str, Any] | list[dict[str, Any]] | None
ScrapeFunction = Callable[[str, Context[Any]], Result]


class Scraper(ABC, Generic[S]):
    """Base class of a scraper that keeps state across the keys of a task.

    A subclass sets ``name`` (the image's name), ``settings_class`` (a
    dataclass, or None for no settings), and optionally ``resources``,
    ``rate_limit_per_s`` and ``key_timeout_s`` (defaults of the standard
    settings); its docstring's first paragraph is its description. The SDK
    makes one instance per run and calls ``open`` once, ``scrape`` per key,
    then ``close`` once.
    """

    name: ClassVar[str] = ""
    settings_class: ClassVar[type[Any] | None] = None
    resources: ClassVar[Resources] = Resources()
    rate_limit_per_s: ClassVar[float | None] = None
    key_timeout_s: ClassVar[float | None] = None

    def open(self, settings: S) -> None:
        """Prepare for the run's first key (does nothing unless overridden)."""

    @abstractmethod
    def scrape(self, key: str, ctx: Context[S]) -> Result:
        """Scrape ``key``: return one record (a dict), several (a list) or none (None)."""

    def close(self) -> None:
        """Clean up after the run's last key (does nothing unless overridden)."""


class FunctionScraper(Scraper[Any]):
    """A scraper given as a function ``scrape(key, ctx)``."""

    def __init__(self, function: ScrapeFunction) -> None:
        self._function = function

    def scrape(self, key: str, ctx: Context[Any]) -> Result:
        """Call the function."""
        return self._function(key, ctx)
