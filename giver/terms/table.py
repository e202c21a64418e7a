"""Every setting a Giver takes, one `Setting` line each in SETTINGS: its key in the
TOML file (and, upper-cased after ENV_PREFIX, in the environment), what kind of
value it takes, the GiverConfig field it sets and its flag if it has one; and the
kinds of value only the Giver has (active hours, labels, ports).
giver.terms.settings reads them from flags, the environment and the file.
"""

from collections.abc import Sequence
from typing import Any

from channel.options import (
    ADDRESS,
    BYTES,
    NUMBER,
    PATH,
    SWITCH,
    TEXT,
    TEXTS,
    WHOLE,
    Kind,
    Setting,
    typed,
)
from giver.terms.hours import ActiveHours

ENV_PREFIX = "SEEKGIVE_GIVER_"


def parse_labels(items: Sequence[str]) -> dict[str, str]:
    """NAME=VALUE items as a mapping; whether they follow the label rules, GiverConfig checks."""
    labels: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise ValueError(f"label {item.strip()!r} is not NAME=VALUE")
        if name in labels:
            raise ValueError(f"label {name!r} is given twice")
        labels[name] = value.strip()
    return labels


def _hours_from_toml(value: Any) -> tuple[ActiveHours, ...]:
    windows = typed(list, 'a list of "HH:MM-HH:MM" strings')(value)
    return tuple(ActiveHours.parse(typed(str, '"HH:MM-HH:MM"')(w)) for w in windows)


def _labels_from_toml(value: Any) -> dict[str, str]:
    table = typed(dict, "a table of NAME = VALUE strings")(value)
    return {name: typed(str, f"a string (label {name})")(v) for name, v in table.items()}


HOURS = Kind(
    'a list of "HH:MM-HH:MM"',
    _hours_from_toml,
    lambda items: tuple(ActiveHours.parse(w) for w in items),
    many=True,
)
LABELS = Kind("a table of labels", _labels_from_toml, parse_labels, many=True)
PORTS = Kind(
    "a list of port numbers",
    lambda v: tuple(typed(int, "a port number")(p) for p in typed(list, "a list of ports")(v)),
    lambda items: tuple(int(i) if i.strip().isdigit() else i.strip() for i in items),
    many=True,
)

SETTINGS = (
    Setting("seeker", TEXT, "seeker_url", "--seeker", "the Seeker's URL, e.g. http://seeker:8765"),
    Setting(
        "lan",
        SWITCH,
        "",
        "--lan",
        "be found on the LAN instead: listen for the Seeker and advertise this Giver over mDNS",
    ),
    Setting(
        "listen",
        ADDRESS,
        "",
        "--listen",
        "with --lan: where the Seeker dials this Giver, HOST:PORT (default 0.0.0.0:0, any port)",
    ),
    Setting(
        "mdns_interfaces",
        TEXTS,
        "",
        "--mdns-interface",
        "with --lan: advertise on the interface with this IP only; repeatable (default all)",
    ),
    Setting(
        "token",
        TEXT,
        "",
        "--token",
        "an admission token from the Seeker's operator; without one the Giver waits "
        "until the operator approves it",
    ),
    Setting(
        "token_file",
        PATH,
        "",
        "--token-file",
        "a file holding the admission token instead, e.g. a Docker secret; only its owner "
        "may read it (chmod 600)",
    ),
    Setting(
        "seeker_key",
        TEXT,
        "",
        "--seeker-key",
        "the public key the Seeker signs tasks with, as `seeker id` prints it "
        "(default: pin the key it names at first contact)",
    ),
    Setting(
        "allowed_images",
        TEXTS,
        "",
        "--allow-image",
        "an image tasks may run: a repository (seekgive/catalog), a namespace (seekgive/*) "
        "or a digest (sha256:...); repeatable (default: any image present here)",
    ),
    Setting(
        "max_image",
        BYTES,
        "max_image_bytes",
        "--max-image",
        "the largest image archive to fetch from the Seeker for a task it lacks, e.g. 2GiB; "
        "0: fetch none, run only images present here (default 4GiB)",
    ),
    Setting(
        "allow_host_network",
        SWITCH,
        "",
        "--allow-host-network",
        "let tasks that ask for it share this machine's network, reaching everything it "
        "reaches (default: such tasks are refused, and scrapers go out only through the "
        "egress gateway)",
    ),
    Setting(
        "allow_hosts",
        TEXTS,
        "",
        "--allow-host",
        "a host scrapers may reach, example.com or *.example.com; repeatable "
        "(default: any public host)",
    ),
    Setting(
        "deny_hosts",
        TEXTS,
        "",
        "--deny-host",
        "a host scrapers may never reach, example.com or *.example.com; repeatable",
    ),
    Setting(
        "allow_local",
        TEXTS,
        "",
        "--allow-local",
        "an address of this machine or its network scrapers may reach anyway, "
        "ADDRESS[:PORT] or a network, e.g. 127.0.0.1:8080 or 192.168.1.0/24; repeatable "
        "(default: none)",
    ),
    Setting(
        "allow_ports",
        PORTS,
        "",
        "--allow-port",
        "a port scrapers may reach on public hosts; repeatable, and replaces the default "
        "80 and 443 (list them too to keep them); a listed local address is reached on "
        "its own port",
    ),
    Setting(
        "traffic_per_day",
        BYTES,
        "traffic_day_bytes",
        "--traffic-per-day",
        "the most traffic (up and down, scrapers, images and results) in a local day, "
        "e.g. 2GiB; then tasks that need the network wait for the next day",
    ),
    Setting(
        "traffic_per_month",
        BYTES,
        "traffic_month_bytes",
        "--traffic-per-month",
        "the most traffic in a calendar month, e.g. 50GiB",
    ),
    Setting(
        "upload_rate",
        BYTES,
        "upload_rate_bytes",
        "--upload-rate",
        "the most bytes per second sent (scrapers and results), e.g. 512KiB",
    ),
    Setting(
        "download_rate",
        BYTES,
        "download_rate_bytes",
        "--download-rate",
        "the most bytes per second received (scrapers and images), e.g. 2MiB",
    ),
    Setting("name", TEXT, "", "--name", "name shown to the Seeker (default the host name)"),
    Setting("slots", WHOLE, "", "--slots", "containers to run at once (default 2)"),
    Setting(
        "labels",
        LABELS,
        "",
        "--label",
        "a fact about this machine for the Seeker, e.g. region=eu; repeatable, replaces "
        "the labels of the environment (NAME=VALUE,...) and the file (a table)",
    ),
    Setting(
        "volunteer",
        TEXT,
        "",
        "--volunteer",
        "who lends this machine: Givers of one volunteer never get two copies of a block",
    ),
    Setting("cpus", NUMBER, "cpus_cap", "--cpus", "CPUs all containers may use in total"),
    Setting("memory", BYTES, "memory_cap_bytes", "--memory", "memory of all containers, e.g. 4GiB"),
    Setting(
        "disk", BYTES, "disk_cap_bytes", "--disk", "results kept waiting for upload, e.g. 1GiB"
    ),
    Setting(
        "active_hours",
        HOURS,
        "",
        "--active-hours",
        "take tasks only in this local-time window, e.g. 22:00-07:00; repeatable",
    ),
    Setting(
        "drain_grace_s",
        NUMBER,
        "",
        "--drain-grace-s",
        "on SIGTERM, how long running tasks may finish (default 30)",
    ),
    Setting("progress_interval_s", NUMBER),
    Setting("reconnect_max_s", NUMBER),
    Setting("outbox_retry_max_s", NUMBER),
    Setting("report_interval_s", NUMBER),
)
