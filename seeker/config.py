"""The Seeker's settings, built once by the CLI (or a test) and never changed.

May import: seeker.errors, channel.wire.
"""

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from channel.wire.release import release_key
from seeker.errors import ConfigError


@dataclass(frozen=True, slots=True)
class SeekerConfig:
    """How a Seeker runs.

    `store_url` is the Channel's results store and `state_url` the Seeker's
    own state (jobs, blocks, leases); each defaults to a SQLite file in
    `data_dir`, and both may name one MongoDB database. `channel_url` is where
    Givers post results; by default the Channel service mounted in this
    Seeker at /channel.

    Several Seekers may share one MongoDB state store; the one holding the
    leader lease (renewed every third of `leader_lease_s`) schedules, the
    others stand by and answer 503 until they take it over. `public_url`
    is where the leader can be reached, for those that stand by to say.

    With `discover` the leader browses mDNS on `discover_interfaces` (IPs;
    empty: all) for Givers in LAN mode and dials them, telling each where
    results go: `channel_url` resolved against `public_url`, or else against
    the address the Giver was dialled from and this Seeker's port.
    With `open_registration` every Giver is admitted; otherwise one needs an
    admission token or an operator's approval.

    Behind a front or a reverse proxy at an address in `trusted_fronts` (addresses
    or networks), the client a request comes from, and the scheme and host it
    used, are those the proxy's X-Forwarded-* headers name.

    Operators reach the admin page and the JSON API with a password, a token
    issued to them, or `operator_token`: a fixed token (from a secret file,
    say) accepted besides the issued ones.

    The docs served at /docs are read from `docs_dir`, by default the docs/ folder
    of the checkout the Seeker runs from (an installed package has none).
    """

    host: str = "127.0.0.1"
    port: int = 8765
    data_dir: Path = Path("seeker-data")
    store_url: str = ""
    state_url: str = ""
    channel_url: str = ""
    poll_interval_s: float = 0.5
    lease_grace_s: float = 60.0
    registration_skew_s: float = 300.0
    purge_after: int = 3
    contact_interval_s: float = 10.0
    flag_after: int = 3
    tail_copies: bool = True
    leader_lease_s: float = 15.0
    public_url: str = ""
    discover: bool = False
    discover_interfaces: tuple[str, ...] = ()
    discover_reconnect_max_s: float = 30.0
    docs_dir: Path | None = None
    trusted_fronts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for address in self.discover_interfaces:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ConfigError(
                    "discover_interfaces", f"{address!r} is not an IP address"
                ) from None
        for front in self.trusted_fronts:
            try:
                ipaddress.ip_network(front, strict=False)
            except ValueError:
                raise ConfigError(
                    "trusted_fronts", f"{front!r} is not an IP address or network"
                ) from None
        if self.min_giver_version and release_key(self.min_giver_version) is None:
            raise ConfigError(
                "min_giver_version",
                f"{self.min_giver_version!r} is not a seekgive release such as 0.2.0",
            )
        if self.discover_reconnect_max_s <= 0:
            raise ConfigError(
                "discover_reconnect_max_s", f"must be positive, got {self.discover_reconnect_max_s}"
            )

    open_registration: bool = False
    operator_token: str = ""
    # Givers of an older seekgive release are refused, told to upgrade; empty: none.
    min_giver_version: str = ""

    @property
    def channel_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'channel.sqlite3'}"

    @property
    def seeker_state_url(self) -> str:
        return self.state_url or f"sqlite:///{self.data_dir / 'seeker.sqlite3'}"

    @property
    def instance_path(self) -> Path:
        """This Seeker's name in the leader lease, kept across restarts."""
        return self.data_dir / "instance.id"

    @property
    def operator_token_path(self) -> Path:
        """Where the first operator token goes when the store holds no credentials."""
        return self.data_dir / "operator.token"

    @property
    def archive_dir(self) -> Path:
        """Where the archives of the catalog's images are kept for Givers that lack them."""
        return self.data_dir / "images"

    @property
    def scratch_dir(self) -> Path:
        """Where uploads and key de-duplication files live while a job is created."""
        return self.data_dir / "scratch"
