"""The egress side of the tests: a gateway that lets scrapers reach only the
sites a test serves, and those sites named as a volunteer lists them."""

from pathlib import Path
from urllib.parse import urlsplit

from giver.egress.addresses import AddressRules
from giver.egress.gateway import Gateway
from giver.egress.ledger import Ledger
from giver.egress.traffic import Traffic


def site(url: str) -> str:
    """The `allow_local` entry of a site a test serves on this machine: HOST:PORT."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    return f"{parts.hostname}:{parts.port}"


def gateway(directory: Path, *urls: str) -> Gateway:
    """A gateway under `directory` through which scrapers reach the sites at `urls`
    and nothing else of this machine; `start()` it."""
    rules = AddressRules.parse((), (), [site(url) for url in urls])
    ledger = Ledger(directory)
    ledger.open()
    return Gateway(directory / "egress", rules, Traffic(directory / "traffic.json"), ledger)
