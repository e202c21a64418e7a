"""seekgive SDK: the container side of the seekgive scraper contract v1 (stdlib only).

A scraper declares its settings as a dataclass and a ``scrape`` function, then
hands both to :func:`run`::

    from dataclasses import dataclass, field

    import seekgive_sdk


    @dataclass
    class Settings:
        base_url: str = field(default="https://example.org", metadata={"help": "Site root"})


    def scrape(key: str, settings: Settings) -> dict:
        html = seekgive_sdk.fetch_text(f"{settings.base_url}/items/{key}")
        return {"length": len(html)}


    if __name__ == "__main__":
        seekgive_sdk.run(scrape, Settings)

See images/CONTRACT.md for the files and exit codes this implements.
"""

from .errors import HTTPStatusError, KeyFailed
from .fetch import fetch_text
from .runner import run
from .task import CONTRACT_VERSION

__all__ = ["CONTRACT_VERSION", "HTTPStatusError", "KeyFailed", "fetch_text", "run"]
