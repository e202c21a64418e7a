"""seekgive SDK: the container side of the seekgive scraper contract v1 (stdlib only).

A scraper declares its settings as a dataclass and a ``scrape(key, ctx)``
function (or a :class:`Scraper` subclass), then hands them to :func:`run`::

    from dataclasses import dataclass, field

    import seekgive_sdk


    @dataclass
    class Settings:
        base_url: str = field(default="https://example.org", metadata={"help": "site root"})


    def scrape(key: str, ctx: seekgive_sdk.Context[Settings]) -> dict:
        # The docstring of scrape, if any, is the description.
        html = ctx.fetch_text(f"{ctx.settings.base_url}/items/{key}")
        return {"length": len(html)}


    if __name__ == "__main__":
        seekgive_sdk.run(scrape, Settings, name="lengths")

See images/CONTRACT.md for the files and exit codes this implements. The
distribution's command ``seekgive-sdk build``, which builds a scraper's image
with its labels, is :mod:`seekgive_sdk.build`.

May import: the standard library only.
"""

from .context import Context
from .errors import HTTPStatusError, KeyFailed
from .resources import Resources
from .runner import run
from .scraper import Scraper
from .version import CONTRACT_VERSION, __version__

__all__ = [
    "CONTRACT_VERSION",
    "Context",
    "HTTPStatusError",
    "KeyFailed",
    "Resources",
    "Scraper",
    "__version__",
    "run",
]
