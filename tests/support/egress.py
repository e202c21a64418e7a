"""The egress side of the tests: a gateway that lets scrapers reach only the
sites a test serves, and those sites named as a volunteer lists them."""

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from urllib.parse import urlsplit

from giver.egress import gateway
from giver.egress.addresses import AddressRules
from giver.egress.gateway import Gateway


def site(url: str) -> str:
    """The `allow_local` entry of a site a test serves on this machine: HOST:PORT."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    return f"{parts.hostname}:{parts.port}"


def serving(directory: Path, *urls: str) -> AbstractAsyncContextManager[Gateway]:
    """A gateway under `directory`, running while in use, through which scrapers reach
    the sites at `urls` and nothing else of this machine."""
    return gateway.serving(directory, AddressRules.parse((), (), [site(url) for url in urls]))
