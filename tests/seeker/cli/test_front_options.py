"""`seeker front`'s options come from one table: a flag, else SEEKGIVE_FRONT_*, else
FrontConfig's default; a bad one is named as the user gave it."""

import pytest

from seeker.cli.front import build_config
from seeker.cli.main import parser
from seeker.errors import ConfigError
from seeker.front.config import FrontConfig

pytestmark = pytest.mark.unit

A, B = "http://seeker-a:8765", "http://seeker-b:8765"


def config(*flags: str, **environ: str) -> FrontConfig:
    return build_config(parser().parse_args(["front", *flags]), environ)


def test_flags_set_every_field_and_the_rest_keep_their_defaults() -> None:
    assert config("--upstream", A, "--upstream", B) == FrontConfig((A, B))
    assert config(
        *("--host", "0.0.0.0", "--port", "9000", "--upstream", A, "--check-interval-s", "0.5")
    ) == FrontConfig((A,), host="0.0.0.0", port=9000, check_interval_s=0.5)


def test_variables_stand_in_for_flags_and_the_flag_wins() -> None:
    environ = {"SEEKGIVE_FRONT_UPSTREAMS": f"{A}, {B}", "SEEKGIVE_FRONT_PORT": "9001"}
    assert config(**environ) == FrontConfig((A, B), port=9001)
    assert config("--port", "9002", **environ).port == 9002


@pytest.mark.parametrize(
    ("flags", "environ", "message"),
    [
        ((), {}, "--upstream or SEEKGIVE_FRONT_UPSTREAMS: name the Seekers"),
        (("--upstream", "seeker-a"), {}, "--upstream: 'seeker-a' is not an http"),
        ((), {"SEEKGIVE_FRONT_UPSTREAMS": "ftp://x"}, "SEEKGIVE_FRONT_UPSTREAMS: 'ftp://x'"),
        (("--upstream", A, "--port", "x"), {}, "--port: must be a whole number"),
        (("--upstream", A, "--check-interval-s", "-1"), {}, "--check-interval-s: must be pos"),
    ],
)
def test_a_bad_setting_is_named_as_given(
    flags: tuple[str, ...], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config(*flags, **environ)
