"""What the admin pages read and act on: the same objects the JSON API uses."""

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from seeker.access.operators import Operators
from seeker.catalog.store import Catalog
from seeker.config import SeekerConfig
from seeker.grid.admission import Admissions
from seeker.grid.coordinator import Coordinator
from seeker.schedules.firing import PeriodicJobs
from seeker.state.base import Leader
from seeker.views.health import Services


@dataclass(frozen=True, slots=True)
class Console:
    """The Seeker's parts behind the pages. `leader()` is None while this Seeker
    leads, else who does; `services` are what its diagnostics check."""

    config: SeekerConfig
    coordinator: Coordinator
    admissions: Admissions
    catalog: Catalog
    periodic: PeriodicJobs
    leader: Callable[[], Leader | None]
    operators: Operators
    services: Services


CONSOLE = web.AppKey("console", Console)


def console(request: web.Request) -> Console:
    return request.app[CONSOLE]
