"""`seeker run`'s options come from one table: a flag, else SEEKGIVE_SEEKER_*, else
SeekerConfig's default."""

from pathlib import Path

import pytest

from seeker.cli.main import parser
from seeker.cli.options import operator_token
from seeker.cli.run import build_config
from seeker.config import SeekerConfig
from seeker.errors import ConfigError, SeekerError

pytestmark = pytest.mark.unit


def config(*flags: str, **environ: str) -> SeekerConfig:
    return build_config(parser().parse_args(["run", *flags]), environ)


def test_no_flag_and_no_variable_leave_every_default() -> None:
    assert config() == SeekerConfig()


def test_every_flag_sets_its_field(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("sgo_fixed\n")
    secret.chmod(0o600)
    given = config(
        *("--host", "0.0.0.0", "--port", "9000", "--data-dir", "here"),
        *("--store", "mongodb://db/r", "--state", "mongodb://db/s"),
        *("--channel-url", "http://channel:8766", "--purge-after", "5"),
        *("--lease-grace-s", "12.5", "--leader-lease-s", "30", "--public-url", "http://s"),
        *("--discover", "--discover-interface", "10.0.0.1", "--discover-interface", "10.0.0.2"),
        *("--open-registration", "--operator-token-file", str(secret), "--no-tail-copies"),
        *("--trust-front", "10.0.0.5", "--trust-front", "172.16.0.0/12"),
    )
    assert given == SeekerConfig(
        host="0.0.0.0",
        port=9000,
        data_dir=Path("here"),
        store_url="mongodb://db/r",
        state_url="mongodb://db/s",
        channel_url="http://channel:8766",
        purge_after=5,
        lease_grace_s=12.5,
        leader_lease_s=30.0,
        public_url="http://s",
        discover=True,
        discover_interfaces=("10.0.0.1", "10.0.0.2"),
        open_registration=True,
        operator_token="sgo_fixed",
        tail_copies=False,
        trusted_fronts=("10.0.0.5", "172.16.0.0/12"),
    )


def test_a_variable_stands_in_for_its_flag_and_the_flag_wins() -> None:
    environ = {
        "SEEKGIVE_SEEKER_PORT": "9001",
        "SEEKGIVE_SEEKER_DISCOVER": "yes",
        "SEEKGIVE_SEEKER_DISCOVER_INTERFACES": "10.0.0.1, 10.0.0.2",
        "SEEKGIVE_SEEKER_TAIL_COPIES": "0",
    }
    from_environment = config(**environ)
    assert (from_environment.port, from_environment.discover) == (9001, True)
    assert from_environment.discover_interfaces == ("10.0.0.1", "10.0.0.2")
    assert from_environment.tail_copies is False
    assert config("--port", "9002", **environ).port == 9002


@pytest.mark.parametrize(
    ("flags", "environ", "source"),
    [
        (["--port", "eighty"], {}, "--port"),
        ([], {"SEEKGIVE_SEEKER_LEASE_GRACE_S": "soon"}, "SEEKGIVE_SEEKER_LEASE_GRACE_S"),
        ([], {"SEEKGIVE_SEEKER_OPEN_REGISTRATION": "maybe"}, "SEEKGIVE_SEEKER_OPEN_REGISTRATION"),
    ],
)
def test_a_value_that_cannot_be_read_names_where_it_came_from(
    flags: list[str], environ: dict[str, str], source: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        config(*flags, **environ)
    assert raised.value.name == source
    assert str(raised.value).startswith(f"{source}: must be")


def test_a_front_to_trust_that_is_no_address_is_refused() -> None:
    with pytest.raises(ConfigError, match="'front' is not an IP address or network"):
        config("--trust-front", "front")


def test_interfaces_without_discovery_and_an_empty_token_file_are_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(SeekerError, match="--discover-interface goes with --discover"):
        config("--discover-interface", "10.0.0.1")
    empty = tmp_path / "token"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(
        SeekerError, match=f"--operator-token-file: the token file {empty} is empty"
    ):
        config("--operator-token-file", str(empty))


def test_operator_token_files_others_may_read_are_refused(tmp_path: Path) -> None:
    shared = tmp_path / "token"
    shared.write_text("sgo_fixed\n")
    shared.chmod(0o644)
    why = f"the token file {shared} is readable by others (mode 644); run: chmod 600 {shared}"
    with pytest.raises(SeekerError) as refused:
        config("--operator-token-file", str(shared))
    assert str(refused.value) == f"--operator-token-file: {why}"
    # The one the CLI sends, too.
    with pytest.raises(SeekerError) as refused:
        operator_token("", shared)
    assert str(refused.value) == why
    shared.chmod(0o600)
    assert operator_token("", shared) == "sgo_fixed"


def test_the_help_shows_each_variable_and_the_defaults_of_seekerconfig(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    defaults = SeekerConfig()
    for shown in (
        f"env SEEKGIVE_SEEKER_PORT; default {defaults.port}",
        f"env SEEKGIVE_SEEKER_DATA_DIR; default {defaults.data_dir}",
        f"env SEEKGIVE_SEEKER_LEASE_GRACE_S; default {defaults.lease_grace_s}",
        "--discover-interface IP",
        "--purge-after N",
    ):
        assert shown in text
