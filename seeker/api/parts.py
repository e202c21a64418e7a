"""The Seeker's parts as the JSON API's routes and the admin pages reach them: one
object under one app key."""

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from seeker.access.operators import Operators
from seeker.catalog.store import Catalog
from seeker.config import SeekerConfig
from seeker.grid.admission import Admissions
from seeker.grid.coordinator import Coordinator
from seeker.grid.sessions import Sessions
from seeker.schedules.firing import PeriodicJobs
from seeker.state.base import Leader
from seeker.views.health import Services
from seeker.views.lag import LoopLag


@dataclass(frozen=True, slots=True)
class Parts:
    """What the routes and pages act on. `leader()` is None while this Seeker leads,
    else who does; `services` are what its diagnostics check; `loop_lag` is how late
    its event loop runs."""

    config: SeekerConfig
    coordinator: Coordinator
    sessions: Sessions
    admissions: Admissions
    catalog: Catalog
    periodic: PeriodicJobs
    operators: Operators
    services: Services
    leader: Callable[[], Leader | None]
    loop_lag: LoopLag

    def leading(self) -> bool:
        return self.leader() is None


PARTS = web.AppKey("parts", Parts)


def parts(request: web.Request) -> Parts:
    """The parts of the Seeker serving `request`, from its app or an app it is
    mounted in."""
    return request.config_dict[PARTS]
