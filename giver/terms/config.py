"""The Giver's settings: one frozen object, built by the CLI."""

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from channel.errors import WireError
from channel.wire.givers import MAX_LABEL_VALUE_CHARS, MAX_LABELS, check_labels
from giver.egress.addresses import AddressRules, LocalAllowance, host_pattern, port_number
from giver.errors import ConfigError, LabelError
from giver.sandbox.images import ImagePolicy
from giver.terms.hours import ActiveHours
from giver.terms.pinning import valid_seeker_key

IDENTITY_FILE = "identity.key"
PAUSE_FILE = "paused"
CONTROL_SOCKET = "control.sock"
SEEKER_KEY_FILE = "seeker-key.pub"
TRAFFIC_FILE = "traffic.json"
EGRESS_DIR = "egress"
MAX_TOKEN_CHARS = 200
DEFAULT_MAX_IMAGE_BYTES = 4 * 1024**3


@dataclass(frozen=True, slots=True)
class GiverConfig:
    """Everything a Giver daemon needs to know before it starts.

    A Giver either dials the Seeker at `seeker_url`, or (`lan`, with an empty
    `seeker_url`) listens on `listen` (host, port; port 0: any free one) and
    advertises itself over mDNS on `mdns_interfaces` (IPs; empty: all) for a
    Seeker on the LAN to dial it, checking its addresses every
    `address_check_s`.
    """

    seeker_url: str
    data_dir: Path
    name: str = field(default_factory=socket.gethostname)
    slots: int = 2
    # Free-form NAME=VALUE facts the volunteer tells the Seeker (region=eu).
    labels: Mapping[str, str] = field(default_factory=dict)
    # Who lends the machine: Givers of one volunteer never get two copies of a block.
    volunteer: str = ""
    progress_interval_s: float = 1.0
    reconnect_max_s: float = 30.0
    outbox_retry_max_s: float = 30.0
    # How often the Giver looks again at what it offers (images, CPUs, memory).
    report_interval_s: float = 60.0
    # Caps on what all this Giver's containers use together; None: the machine's.
    cpus_cap: float | None = None
    memory_cap_bytes: int | None = None
    # Caps results waiting for upload plus what running tasks may still write.
    disk_cap_bytes: int | None = None
    # Daily local-time windows in which the Giver takes tasks; empty: any time.
    active_hours: tuple[ActiveHours, ...] = ()
    # On SIGTERM, how long running tasks may go on before they are released.
    drain_grace_s: float = 30.0
    lan: bool = False
    listen: tuple[str, int] = ("0.0.0.0", 0)
    mdns_interfaces: tuple[str, ...] = ()
    address_check_s: float = 2.0
    # An admission token from the Seeker's operator, sent with the registration.
    token: str = ""
    # The Seeker key to trust; empty: the key the Seeker names first, pinned.
    seeker_key: str = ""
    # Images tasks may run (repositories, namespaces `ns/*`, digests); empty: any image.
    allowed_images: tuple[str, ...] = ()
    # The largest image archive fetched from the Seeker for a task; 0: fetch none.
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    # Tasks may share the host's network namespace (`network: host`); off, they are refused.
    allow_host_network: bool = False
    # Where scrapers may go through the egress gateway (giver.egress.addresses):
    # only these hosts (empty: any public one), never these, and these local
    # addresses or networks (HOST[:PORT] or CIDR) although they are local.
    allow_hosts: tuple[str, ...] = ()
    deny_hosts: tuple[str, ...] = ()
    allow_local: tuple[str, ...] = ()
    # The ports scrapers may reach (empty: 80 and 443); a listed local address's own aside.
    allow_ports: tuple[int, ...] = ()
    # Traffic caps (both ways, local days and months) and rates in bytes/s; None: none.
    traffic_day_bytes: int | None = None
    traffic_month_bytes: int | None = None
    upload_rate_bytes: int | None = None
    download_rate_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.lan:
            self._check_lan()
        else:
            url = urlsplit(self.seeker_url)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ConfigError(
                    "seeker_url", f"expected http(s)://HOST[:PORT], got {self.seeker_url!r}"
                )
        if not self.name:
            raise ConfigError("name", "must not be empty")
        if self.slots < 1:
            raise ConfigError("slots", f"must be at least 1, got {self.slots}")
        for name in (
            "progress_interval_s",
            "reconnect_max_s",
            "outbox_retry_max_s",
            "report_interval_s",
            "address_check_s",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(name, f"must be positive, got {getattr(self, name)}")
        for name in (
            "cpus_cap",
            "memory_cap_bytes",
            "disk_cap_bytes",
            "traffic_day_bytes",
            "traffic_month_bytes",
            "upload_rate_bytes",
            "download_rate_bytes",
        ):
            cap = getattr(self, name)
            if cap is not None and cap <= 0:
                raise ConfigError(name, f"must be positive, got {cap}; leave it out for no cap")
        if self.max_image_bytes < 0:
            raise ConfigError(
                "max_image_bytes", f"must not be negative, got {self.max_image_bytes}"
            )
        if self.drain_grace_s < 0:
            raise ConfigError("drain_grace_s", f"must not be negative, got {self.drain_grace_s}")
        object.__setattr__(self, "active_hours", tuple(self.active_hours))
        if len(self.volunteer) > MAX_LABEL_VALUE_CHARS or "\n" in self.volunteer:
            raise ConfigError(
                "volunteer", f"must be one line of at most {MAX_LABEL_VALUE_CHARS} characters"
            )
        if len(self.token) > MAX_TOKEN_CHARS or any(c.isspace() for c in self.token):
            raise ConfigError(
                "token", f"must be one word of at most {MAX_TOKEN_CHARS} characters, as issued"
            )
        if self.seeker_key:
            valid_seeker_key(self.seeker_key)
        object.__setattr__(self, "allowed_images", ImagePolicy(self.allowed_images).patterns)
        for name in ("allow_hosts", "deny_hosts", "allow_local", "allow_ports"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name, parse in (
            ("allow_hosts", host_pattern),
            ("deny_hosts", host_pattern),
            ("allow_local", LocalAllowance.parse),
            ("allow_ports", lambda port: port_number(str(port))),
        ):
            for item in getattr(self, name):
                try:
                    parse(item)
                except ValueError as e:
                    raise ConfigError(name, str(e)) from None
        # Frozen all the way down: the labels cannot change behind the config's back.
        object.__setattr__(self, "labels", MappingProxyType(valid_labels(self.labels)))

    def _check_lan(self) -> None:
        if self.seeker_url:
            raise ConfigError(
                "seeker_url", "a Giver in LAN mode is dialled by the Seeker; give no Seeker URL"
            )
        if not 0 <= self.listen[1] < 65536:
            raise ConfigError("listen", f"port must be a port number, got {self.listen[1]}")
        for address in self.mdns_interfaces:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ConfigError("mdns_interfaces", f"{address!r} is not an IP address") from None

    @property
    def egress_rules(self) -> AddressRules:
        """Where scrapers may go through the egress gateway; ValueError if a rule is bad."""
        return AddressRules.parse(
            self.allow_hosts, self.deny_hosts, self.allow_local, self.allow_ports
        )

    @property
    def traffic_path(self) -> Path:
        """Where the traffic of the current day and month is counted across restarts."""
        return self.data_dir / TRAFFIC_FILE

    @property
    def egress_dir(self) -> Path:
        """Where the egress gateway's sockets are, one directory per running task."""
        return self.data_dir / EGRESS_DIR

    @property
    def identity_path(self) -> Path:
        return self.data_dir / IDENTITY_FILE

    @property
    def seeker_key_path(self) -> Path:
        """Where the Seeker key pinned on first contact is kept."""
        return self.data_dir / SEEKER_KEY_FILE

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    @property
    def image_dir(self) -> Path:
        """Where archives of images fetched from the Seeker wait to be checked and loaded."""
        return self.data_dir / "images"

    @property
    def pause_path(self) -> Path:
        return pause_path(self.data_dir)

    @property
    def control_path(self) -> Path:
        return control_path(self.data_dir)


def pause_path(data_dir: Path) -> Path:
    """The file whose presence means the volunteer paused the Giver."""
    return data_dir / PAUSE_FILE


def control_path(data_dir: Path) -> Path:
    """The unix socket `giver pause|resume|status` talk to the running daemon through."""
    return data_dir / CONTROL_SOCKET


def valid_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """`labels` as a dict if every label follows the wire's rules; else LabelError."""
    if len(labels) > MAX_LABELS:
        raise ConfigError("labels", f"at most {MAX_LABELS} labels, got {len(labels)}")
    for name, value in labels.items():
        try:
            check_labels({name: value}, "labels")
        except WireError as e:
            raise LabelError(str(name), str(e)) from e
    return dict(labels)
