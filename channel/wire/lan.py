"""What a Giver in LAN mode advertises over mDNS, and where a Seeker dials it.

A Giver advertises the service type `_giver._tcp.local.` under its id; the
TXT record carries the id, the session API version and the port its session
endpoint listens on. A Seeker that finds it dials
`ws://ADDRESS:PORT/api/v1/session`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from channel.errors import WireError

SERVICE_TYPE = "_giver._tcp.local."
API_VERSION = "1"
SESSION_PATH = "/api/v1/session"
GIVER_ID = re.compile(r"g[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class Advert:
    """A Giver's TXT record: its id, the session API version it speaks, its port."""

    giver_id: str
    port: int
    api: str = API_VERSION

    def txt(self) -> dict[str, str]:
        return {"id": self.giver_id, "api": self.api, "port": str(self.port)}

    @classmethod
    def from_txt(cls, properties: Mapping[str, str | None]) -> "Advert":
        """The advert in a resolved TXT record, or WireError naming what is wrong."""
        values = {key: properties.get(key) for key in ("id", "api", "port")}
        missing = [key for key, value in values.items() if not value]
        if missing:
            raise WireError(f"the TXT record lacks {', '.join(missing)}")
        giver_id, api, port = values["id"], values["api"], values["port"]
        assert giver_id is not None and api is not None and port is not None
        if not GIVER_ID.fullmatch(giver_id):
            raise WireError(f"the TXT record's id {giver_id!r} is not a Giver id")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise WireError(f"the TXT record's port {port!r} is not a port number")
        return cls(giver_id=giver_id, port=int(port), api=api)


def service_name(giver_id: str) -> str:
    """The mDNS instance name a Giver advertises itself under."""
    return f"{giver_id}.{SERVICE_TYPE}"


def session_url(address: str, port: int) -> str:
    """The WebSocket URL of the session endpoint of a Giver at `address`."""
    host = f"[{address}]" if ":" in address else address
    return f"ws://{host}:{port}{SESSION_PATH}"
