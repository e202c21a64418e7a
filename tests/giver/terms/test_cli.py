"""The Giver's settings from flags and environment: labels, volunteer, and their errors."""

from pathlib import Path

import pytest

from channel.wire.identity import Identity
from giver.cli import main, parser
from giver.errors import ConfigError, LabelError
from giver.terms.config import GiverConfig
from giver.terms.settings import build_config

pytestmark = pytest.mark.unit

SEEKER = "http://127.0.0.1:8765"


def config(*flags: str, **environ: str) -> GiverConfig:
    args = parser().parse_args(["run", "--seeker", SEEKER, *flags])
    return build_config(args, {"XDG_DATA_HOME": "/nonexistent", **environ})


def test_labels_and_volunteer_from_flags() -> None:
    built = config("--label", "region=eu", "--label", "net.residential=true", "--volunteer", "ada")
    assert built.labels == {"region": "eu", "net.residential": "true"}
    assert built.volunteer == "ada"


def test_labels_and_volunteer_from_the_environment() -> None:
    built = config(
        SEEKGIVE_GIVER_LABELS=" region=eu, isp=fiber-co ,",
        SEEKGIVE_GIVER_VOLUNTEER="ada",
    )
    assert built.labels == {"region": "eu", "isp": "fiber-co"}
    assert built.volunteer == "ada"


def test_flags_win_over_the_environment() -> None:
    built = config(
        "--label",
        "region=us",
        "--volunteer",
        "bob",
        SEEKGIVE_GIVER_LABELS="region=eu,isp=fiber-co",
        SEEKGIVE_GIVER_VOLUNTEER="ada",
    )
    assert built.labels == {"region": "us"}
    assert built.volunteer == "bob"


def test_without_labels_or_volunteer_the_defaults_hold() -> None:
    built = config(SEEKGIVE_GIVER_LABELS=" ")
    assert built.labels == {} and built.volunteer == ""
    assert built.report_interval_s == 60.0


@pytest.mark.parametrize(
    ("flags", "environ", "label"),
    [
        (["--label", "Region=eu"], {}, "Region"),
        (["--label", "region=eu", "--label=-x=1"], {}, "-x"),
        ([], {"SEEKGIVE_GIVER_LABELS": "region=eu,net residential=yes"}, "net residential"),
        (["--label", "region=" + "e" * 201], {}, "region"),
    ],
)
def test_a_bad_label_is_named(flags: list[str], environ: dict[str, str], label: str) -> None:
    with pytest.raises(LabelError) as raised:
        config(*flags, **environ)
    assert raised.value.label == label
    assert raised.value.name == "labels"
    assert label in str(raised.value)


@pytest.mark.parametrize(
    ("flags", "environ", "source", "words"),
    [
        (["--label", "region"], {}, "--label", "'region' is not NAME=VALUE"),
        ([], {"SEEKGIVE_GIVER_LABELS": "=eu"}, "SEEKGIVE_GIVER_LABELS", "'=eu' is not NAME="),
        (["--label", "a=1", "--label", "a=2"], {}, "--label", "'a' is given twice"),
    ],
)
def test_a_label_that_is_not_name_equals_value_names_its_source(
    flags: list[str], environ: dict[str, str], source: str, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        config(*flags, **environ)
    assert raised.value.name == source
    assert words in str(raised.value)


def test_the_config_checks_labels_volunteer_and_report_interval(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="label name 'Region'"):
        GiverConfig(SEEKER, tmp_path, labels={"Region": "eu"})
    with pytest.raises(LabelError, match=r"labels\.region must be one line"):
        GiverConfig(SEEKER, tmp_path, labels={"region": "eu\nus"})
    with pytest.raises(ConfigError, match="at most 64 labels"):
        GiverConfig(SEEKER, tmp_path, labels={f"l{n}": "x" for n in range(65)})
    with pytest.raises(ConfigError, match="volunteer: must be one line"):
        GiverConfig(SEEKER, tmp_path, volunteer="a" * 201)
    with pytest.raises(ConfigError, match="report_interval_s: must be positive"):
        GiverConfig(SEEKER, tmp_path, report_interval_s=0)


def test_the_configs_labels_cannot_change_behind_its_back(tmp_path: Path) -> None:
    labels = {"region": "eu"}
    built = GiverConfig(SEEKER, tmp_path, labels=labels)
    labels["region"] = "us"
    assert built.labels == {"region": "eu"}
    with pytest.raises(TypeError):
        built.labels["region"] = "us"  # type: ignore[index]


def test_the_cli_shows_a_bad_label_as_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEEKGIVE_GIVER_LABELS", raising=False)
    assert main(["run", "--seeker", SEEKER, "--label", "Region=eu"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("giver: error: labels: label name 'Region' must be lowercase")
    assert "Traceback" not in err and err.count("\n") == 1


def lan_config(*flags: str, **environ: str) -> GiverConfig:
    args = parser().parse_args(["run", *flags])
    return build_config(args, {"XDG_DATA_HOME": "/nonexistent", **environ})


def test_lan_mode_from_flags_and_from_the_environment() -> None:
    built = lan_config("--lan", "--listen", "10.0.0.2:7777", "--mdns-interface", "10.0.0.2")
    assert (built.lan, built.seeker_url) == (True, "")
    assert built.listen == ("10.0.0.2", 7777)
    assert built.mdns_interfaces == ("10.0.0.2",)
    from_env = lan_config(
        SEEKGIVE_GIVER_LAN="1", SEEKGIVE_GIVER_MDNS_INTERFACES="10.0.0.2, 10.0.1.2"
    )
    assert (from_env.lan, from_env.listen) == (True, ("0.0.0.0", 0))
    assert from_env.mdns_interfaces == ("10.0.0.2", "10.0.1.2")


KEY = Identity.generate().public_key


def test_token_seeker_key_and_allowed_images_from_flags_or_the_environment() -> None:
    built = config(
        SEEKGIVE_GIVER_TOKEN="sgt_a_b",
        SEEKGIVE_GIVER_SEEKER_KEY=KEY,
        SEEKGIVE_GIVER_ALLOWED_IMAGES=" seekgive/catalog, seekgive-test/*,",
    )
    assert (built.token, built.seeker_key) == ("sgt_a_b", KEY)
    assert built.allowed_images == ("seekgive/catalog", "seekgive-test/*")
    flagged = config(
        "--token",
        "sgt_c_d",
        "--allow-image",
        "seekgive/catalog",
        SEEKGIVE_GIVER_TOKEN="sgt_a_b",
        SEEKGIVE_GIVER_ALLOWED_IMAGES="x/*",
    )
    assert (flagged.token, flagged.allowed_images) == ("sgt_c_d", ("seekgive/catalog",))
    assert config().allowed_images == () and config().seeker_key == ""


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ((), "give --seeker URL .* or --lan"),
        (("--lan", "--seeker", SEEKER), "give no --seeker URL"),
        (("--seeker", SEEKER, "--listen", "0.0.0.0:1"), "go with --lan"),
        (("--lan", "--listen", "7777"), "'7777' is not HOST:PORT"),
        (("--lan", "--listen", "h:70000"), "listen: port must be a port number"),
        (("--lan", "--mdns-interface", "eth0"), "'eth0' is not an IP address"),
    ],
)
def test_bad_lan_settings_are_named(flags: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        lan_config(*flags)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seeker-key", "not-a-key"], "--seeker-key: a public key must be 32 bytes"),
        (["--token", "two words"], "token: must be one word"),
        (["--allow-image", "seekgive/catalog:1"], "allowed images: 'seekgive/catalog:1'"),
    ],
)
def test_a_bad_token_key_or_image_pattern_is_a_clear_error(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--seeker", SEEKER, *flags]) == 1
    assert message in capsys.readouterr().err
