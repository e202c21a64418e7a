"""The Giver's settings from flags, environment and a TOML file; caps and active hours
as pure logic (the clock is injected)."""

from datetime import datetime
from pathlib import Path

import pytest

from channel import files
from channel.options import parse_size
from channel.wire.givers import Capabilities
from channel.wire.identity import Identity
from channel.wire.models import Limits
from giver.cli import parser
from giver.errors import ConfigError, ConfigFileError
from giver.terms.capacity import Caps
from giver.terms.config import GiverConfig
from giver.terms.hours import ActiveHours, outside
from giver.terms.settings import build_config
from giver.terms.table import SETTINGS

pytestmark = pytest.mark.unit

GIB, MIB = 2**30, 2**20


def config(tmp_path: Path, toml: str | None, *flags: str, **environ: str) -> GiverConfig:
    """Settings with giver.toml in the data dir holding `toml` (none if None)."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if toml is not None:
        (data / "giver.toml").write_text(toml)
    args = parser().parse_args(["run", "--data-dir", str(data), *flags])
    return build_config(args, environ)


FILE = """
seeker = "http://file:1"
name = "from-file"
slots = 3
volunteer = "ada"
cpus = 1.5
memory = "4GiB"
disk = "512MiB"
active_hours = ["22:00-07:00", "12:00-13:30"]
drain_grace_s = 5
report_interval_s = 2.5

[labels]
region = "eu"
"net.residential" = "true"
"""


def test_the_file_sets_every_setting(tmp_path: Path) -> None:
    built = config(tmp_path, FILE)
    assert built.seeker_url == "http://file:1" and built.name == "from-file"
    assert (built.slots, built.volunteer, built.cpus_cap) == (3, "ada", 1.5)
    assert (built.memory_cap_bytes, built.disk_cap_bytes) == (4 * GIB, 512 * MIB)
    assert built.active_hours == (ActiveHours(22 * 60, 7 * 60), ActiveHours(12 * 60, 13 * 60 + 30))
    assert (built.drain_grace_s, built.report_interval_s) == (5.0, 2.5)
    assert built.labels == {"region": "eu", "net.residential": "true"}


def test_flags_then_environment_then_file_then_defaults(tmp_path: Path) -> None:
    built = config(
        tmp_path,
        FILE,
        "--slots",
        "5",
        "--label",
        "region=us",
        SEEKGIVE_GIVER_SLOTS="4",
        SEEKGIVE_GIVER_NAME="from-env",
        SEEKGIVE_GIVER_ACTIVE_HOURS="08:00-09:00,10:00-11:00",
    )
    assert built.slots == 5 and built.labels == {"region": "us"}
    assert built.name == "from-env" and len(built.active_hours) == 2
    assert built.memory_cap_bytes == 4 * GIB
    defaults = config(tmp_path, 'seeker = "http://file:1"')
    assert defaults.drain_grace_s == 30.0 and defaults.cpus_cap is None


def test_an_explicit_file_and_its_relative_data_dir(tmp_path: Path) -> None:
    file = tmp_path / "elsewhere.toml"
    file.write_text('seeker = "http://file:1"\ndata_dir = "gdata"\n')
    args = parser().parse_args(["run", "--config", str(file)])
    built = build_config(args, {"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert built.data_dir == tmp_path / "gdata"


def test_data_dir_in_the_data_dirs_own_file_is_refused_not_ignored(tmp_path: Path) -> None:
    toml = 'seeker = "http://file:1"\ndata_dir = "elsewhere"\n'
    with pytest.raises(ConfigFileError) as raised:
        config(tmp_path, toml)
    assert str(raised.value) == (
        f"{tmp_path / 'data' / 'giver.toml'}: data_dir: this file is in the data dir "
        "already; name the data dir in a file given with --config (or SEEKGIVE_GIVER_CONFIG), "
        "or with --data-dir"
    )
    default = tmp_path / "xdg" / "seekgive-giver"
    default.mkdir(parents=True)
    (default / "giver.toml").write_text(toml)
    with pytest.raises(ConfigFileError, match="data_dir: this file is in the data dir"):
        build_config(parser().parse_args(["run"]), {"XDG_DATA_HOME": str(tmp_path / "xdg")})


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('seeker = "http://x:1"\nslot = 2', "slot", "unknown setting (known: seeker,"),
        ('seeker = "http://x:1"\nslots = "2"', "slots", "must be a whole number, got '2'"),
        ('seeker = "http://x:1"\nslots = true', "slots", "must be a whole number"),
        ('seeker = "http://x:1"\nmemory = "4 gallons"', "memory", "is not a size"),
        ('seeker = "http://x:1"\nactive_hours = "22:00-07:00"', "active_hours", "a list"),
        ('seeker = "http://x:1"\nactive_hours = ["25:00-07:00"]', "active_hours", "time of day"),
        ('seeker = "http://x:1"\nlabels = ["a=b"]', "labels", "a table"),
    ],
)
def test_a_bad_key_in_the_file_names_the_key_and_the_file(
    tmp_path: Path, toml: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigFileError) as raised:
        config(tmp_path, toml)
    assert raised.value.key == key
    assert str(raised.value).startswith(f"{tmp_path / 'data' / 'giver.toml'}: {key}: ")
    assert words in str(raised.value)


def test_a_file_that_is_not_toml_or_missing_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"giver\.toml: not valid TOML"):
        config(tmp_path, "seeker = ")
    with pytest.raises(ConfigFileError, match=r"nope\.toml: cannot read it"):
        config(tmp_path, None, "--config", str(tmp_path / "nope.toml"))


def test_bad_values_from_flags_and_environment_name_their_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a size") as raised:
        config(tmp_path, FILE, "--memory", "lots")
    assert raised.value.name == "--memory"
    with pytest.raises(ConfigError) as raised:
        config(tmp_path, FILE, SEEKGIVE_GIVER_DRAIN_GRACE_S="soon")
    assert raised.value.name == "SEEKGIVE_GIVER_DRAIN_GRACE_S"
    with pytest.raises(ConfigError, match=r"^--cpus: must be positive, got 0\.0; leave it out"):
        config(tmp_path, FILE, "--cpus", "0")
    # A value the config refuses is named as it was given too.
    with pytest.raises(ConfigError, match=r"^SEEKGIVE_GIVER_TRAFFIC_PER_DAY: must be positive"):
        config(tmp_path, FILE, SEEKGIVE_GIVER_TRAFFIC_PER_DAY="0")
    with pytest.raises(ConfigFileError) as in_file:
        config(tmp_path, "allow_ports = [0]\n" + FILE)
    assert in_file.value.key == "allow_ports"
    assert "the port must be a number from 1 to 65535" in str(in_file.value)
    with pytest.raises(ConfigError, match="or seeker in"):
        config(tmp_path, "slots = 1")


def test_every_setting_is_a_config_field() -> None:
    fields = set(GiverConfig.__dataclass_fields__)
    # The token file is read into `token`.
    assert {s.field or s.key for s in SETTINGS} - {"token_file"} <= fields


def token_file(directory: Path, text: str = "sga_from-a-file\n", mode: int = 0o600) -> Path:
    path = directory / "giver.token"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_token_comes_from_a_file_by_flag_variable_or_file_key(tmp_path: Path) -> None:
    path = token_file(tmp_path)
    by_flag = config(tmp_path, None, "--seeker", "http://s:1", "--token-file", str(path))
    by_env = config(tmp_path, None, "--seeker", "http://s:1", SEEKGIVE_GIVER_TOKEN_FILE=str(path))
    # A relative path in the file is relative to the file.
    (tmp_path / "data" / "giver.token").write_bytes(path.read_bytes())
    (tmp_path / "data" / "giver.token").chmod(0o600)
    by_file = config(tmp_path, 'seeker = "http://s:1"\ntoken_file = "giver.token"')
    assert by_flag.token == by_env.token == by_file.token == "sga_from-a-file"


@pytest.mark.parametrize(
    ("text", "mode", "why"),
    [
        ("sga_x", 0o644, "{path} is readable by others (mode 644); run: chmod 600 {path}"),
        ("sga_x", 0o640, "{path} is readable by others (mode 640); run: chmod 600 {path}"),
        ("\n", 0o600, "{path} is empty; write the token in it"),
    ],
)
def test_a_token_file_others_may_read_or_an_empty_one_is_refused(
    tmp_path: Path, text: str, mode: int, why: str
) -> None:
    path = token_file(tmp_path, text, mode)
    with pytest.raises(ConfigError) as refused:
        config(tmp_path, None, "--seeker", "http://s:1", "--token-file", str(path))
    assert str(refused.value) == f"--token-file: the token file {why.format(path=path)}"


def test_a_token_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.token"
    with pytest.raises(ConfigError) as refused:
        config(tmp_path, None, "--seeker", "http://s:1", SEEKGIVE_GIVER_TOKEN_FILE=str(missing))
    assert str(refused.value) == (
        f"SEEKGIVE_GIVER_TOKEN_FILE: cannot read the token file {missing}: "
        "No such file or directory"
    )
    with pytest.raises(ConfigError, match=f"cannot read the token file {tmp_path}: Is a directory"):
        config(tmp_path, None, "--seeker", "http://s:1", "--token-file", str(tmp_path))


def test_a_token_and_a_token_file_together_are_refused(tmp_path: Path) -> None:
    path = token_file(tmp_path)
    with pytest.raises(ConfigError) as refused:
        config(
            tmp_path, None, "--seeker", "http://s:1", "--token", "sga_x", "--token-file", str(path)
        )
    assert str(refused.value) == (
        "--token-file: give the token or a token file, not both; drop one"
    )


def test_a_docker_secret_may_be_read_by_all_but_written_by_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Docker mounts compose and swarm secrets in /run/secrets, mode 0444 by default.
    monkeypatch.setattr(files, "SECRETS_DIR", tmp_path)
    path = token_file(tmp_path, mode=0o444)
    built = config(tmp_path, None, "--seeker", "http://s:1", "--token-file", str(path))
    assert built.token == "sga_from-a-file"
    path.chmod(0o666)
    with pytest.raises(ConfigError, match="readable by others"):
        config(tmp_path, None, "--seeker", "http://s:1", "--token-file", str(path))


@pytest.mark.parametrize(
    ("text", "size"),
    [("4GiB", 4 * GIB), ("512 MiB", 512 * MIB), ("2GB", 2 * 10**9), ("1.5KiB", 1536), ("10", 10)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def at(clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime(2024, 5, 1, hour, minute)


def test_active_hours_wrap_midnight() -> None:
    night = (ActiveHours.parse("22:00-07:00"),)
    assert outside(night, at("23:30")) is None
    assert outside(night, at("06:59")) is None
    assert outside(night, at("07:00")) == "is outside its active hours (22:00-07:00)"
    assert outside(night, at("12:00")) is not None
    assert outside((), at("12:00")) is None
    lunch = (*night, ActiveHours.parse("12:00-13:30"))
    assert outside(lunch, at("13:00")) is None and outside(lunch, at("13:30")) is not None
    with pytest.raises(ValueError, match="is not HH:MM-HH:MM"):
        ActiveHours.parse("22-07")


def test_caps_clamp_limits_and_refuse_what_does_not_fit() -> None:
    caps = Caps(cpus=1.5, memory_bytes=1 * GIB)
    clamped = caps.clamp(Limits(memory_bytes=2 * GIB, cpus=2.0))
    assert (clamped.cpus, clamped.memory_bytes) == (1.5, 1 * GIB)
    assert caps.clamp(Limits(cpus=0.5)) == Limits(cpus=0.5)
    running = [Limits(cpus=1.0, memory_bytes=256 * MIB)]
    assert caps.over(running, Limits(cpus=0.5, memory_bytes=256 * MIB)) is None
    assert "CPU cap: running tasks use 1 of 1.5 CPU(s)" in (
        caps.over(running, Limits(cpus=1.0, memory_bytes=256 * MIB)) or ""
    )
    assert "memory cap" in (caps.over(running, Limits(cpus=0.5, memory_bytes=1 * GIB)) or "")


def test_caps_lower_what_the_seeker_hears_and_the_disk_cap_counts_waiting_results() -> None:
    machine = Capabilities(8, 16 * GIB, "amd64", "linux", "24", 2)
    offered = Caps(cpus=1.5, memory_bytes=2 * GIB).offered(machine)
    assert (offered.cpus, offered.memory_bytes) == (2, 2 * GIB)
    assert Caps().offered(machine) == machine
    disk = Caps(disk_bytes=100 * MIB)
    assert disk.output_bytes == 32 * MIB
    assert Caps(disk_bytes=8 * MIB).clamp(Limits(output_bytes=20 * MIB)).output_bytes == 8 * MIB
    assert Caps().clamp(Limits(output_bytes=1 * GIB)).output_bytes == 32 * MIB
    assert disk.disk_full(60 * MIB, 0) is None
    assert disk.disk_full(60 * MIB, 1) == (
        "has 60 MiB of results waiting to be uploaded and running tasks may write 32 MiB more "
        "(disk cap 100 MiB)"
    )
    assert Caps().disk_full(10 * GIB, 5) is None


def test_admission_image_policy_and_lan_settings_come_from_the_file_too(tmp_path: Path) -> None:
    key = Identity.generate().public_key
    dialling = config(
        tmp_path,
        f'seeker = "http://s:1"\ntoken = "sgt_a_b"\nseeker_key = "{key}"\n'
        'allowed_images = ["seekgive/catalog", "sha256:' + "0" * 64 + '"]\nmax_image = "2GiB"\n',
    )
    assert (dialling.token, dialling.seeker_key) == ("sgt_a_b", key)
    assert dialling.allowed_images == ("seekgive/catalog", "sha256:" + "0" * 64)
    assert dialling.max_image_bytes == 2 * GIB
    assert config(tmp_path, None, "--seeker", "http://s:1", "--max-image", "0").max_image_bytes == 0
    lan = config(tmp_path, 'lan = true\nlisten = "10.0.0.2:7777"\nmdns_interfaces = ["10.0.0.2"]\n')
    assert (lan.lan, lan.listen, lan.mdns_interfaces) == (True, ("10.0.0.2", 7777), ("10.0.0.2",))
    with pytest.raises(ConfigFileError, match="lan: must be true or false"):
        config(tmp_path, 'lan = "yes"\n')


def test_the_egress_settings_come_from_flags_the_environment_and_the_file(
    tmp_path: Path,
) -> None:
    toml = FILE.replace(
        "[labels]",
        'allow_hosts = ["*.shop.example"]\ndeny_hosts = ["ads.shop.example"]\n'
        'allow_ports = [443, 8443]\ntraffic_per_day = "2GiB"\nupload_rate = "512KiB"\n'
        "allow_host_network = true\n\n[labels]",
    )
    built = config(
        tmp_path,
        toml,
        "--allow-local",
        "127.0.0.1:8080",
        "--download-rate",
        "4MiB",
        SEEKGIVE_GIVER_TRAFFIC_PER_MONTH="40GiB",
    )
    assert built.egress_rules.stated() == (
        "only *.shop.example but ads.shop.example on port 443, 8443; "
        "local addresses allowed: 127.0.0.1:8080"
    )
    assert (built.traffic_day_bytes, built.traffic_month_bytes) == (2 * GIB, 40 * GIB)
    assert (built.upload_rate_bytes, built.download_rate_bytes) == (512 * 1024, 4 * MIB)
    assert built.allow_host_network
    listed = config(tmp_path, FILE, SEEKGIVE_GIVER_ALLOW_PORTS="80, 8080")
    assert listed.allow_ports == (80, 8080)
