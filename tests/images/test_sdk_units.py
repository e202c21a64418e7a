"""Tests of the scraper SDK (images/sdk/seekgive_sdk) in-process: declarations,
schema, settings, the per-key context, the rate limiter and the output files."""

import importlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest
from support.base import REPO

pytestmark = pytest.mark.unit

SDK_DIR = REPO / "images" / "sdk"


# --- in-process units: declaration, schema, settings, context, rate limit ----------


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """seekgive_sdk imported in-process, without writing bytecode into images/."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(SDK_DIR))
    return importlib.import_module("seekgive_sdk")


def submodule(name: str) -> ModuleType:
    """A module of the SDK (after the ``sdk`` fixture imported the package)."""
    return importlib.import_module(f"seekgive_sdk.{name}")


@dataclass
class AllTypes:
    """Every supported setting type and metadata key."""

    token: str = field(metadata={"help": "API token", "min_length": 8, "pattern": "^[a-z0-9]+$"})
    base_url: str = field(
        default="http://127.0.0.1:8080",
        metadata={"title": "Base URL", "help": "root URL", "format": "uri", "max_length": 200},
    )
    pages: int = field(default=3, metadata={"minimum": 1, "maximum": 50})
    ratio: float = field(default=0.5, metadata={"exclusive_minimum": 0, "exclusive_maximum": 1})
    loud: bool = False
    mode: Literal["fast", "full"] = "fast"
    level: Literal[1, 2, 3] = 2
    tags: list[str] = field(default_factory=list, metadata={"max_length": 5, "pattern": "^#"})
    ids: list[int] = field(default_factory=lambda: [1, 2], metadata={"minimum": 0, "min_length": 1})
    weights: list[float] = field(default_factory=list)
    note: str | None = field(default=None, metadata={"max_length": 20})
    limit: int | None = None
    flavour: Literal["a", "b"] | None = None
    extra: list[str] | None = None


def scrape_nothing(key: str, ctx: Any) -> None:
    """Scrapes nothing.

    Second paragraph."""


def declare(sdk: ModuleType, settings_class: type | None = AllTypes, **kwargs: Any) -> Any:
    """The declaration of a function scraper named ``t`` with ``settings_class``."""
    return submodule("declaration").declare(
        scrape_nothing, settings_class, **{"name": "t", **kwargs}
    )


def test_schema_of_every_type_and_metadata(sdk: ModuleType) -> None:
    schema = submodule("schema").settings_schema(
        declare(sdk, rate_limit_per_s=5, key_timeout_s=30.5)
    )
    assert list(schema["properties"]) == [
        "token",
        "base_url",
        "pages",
        "ratio",
        "loud",
        "mode",
        "level",
        "tags",
        "ids",
        "weights",
        "note",
        "limit",
        "flavour",
        "extra",
        "rate_limit_per_s",
        "key_timeout_s",
    ]
    assert schema == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "t",
        "description": "Scrapes nothing.",
        "type": "object",
        "additionalProperties": False,
        "required": ["token"],
        "properties": {
            "token": {
                "type": "string",
                "minLength": 8,
                "pattern": "^[a-z0-9]+$",
                "description": "API token",
            },
            "base_url": {
                "title": "Base URL",
                "type": "string",
                "format": "uri",
                "maxLength": 200,
                "default": "http://127.0.0.1:8080",
                "description": "root URL",
            },
            "pages": {"type": "integer", "minimum": 1, "maximum": 50, "default": 3},
            "ratio": {
                "type": "number",
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "default": 0.5,
            },
            "loud": {"type": "boolean", "default": False},
            "mode": {"type": "string", "enum": ["fast", "full"], "default": "fast"},
            "level": {"type": "integer", "enum": [1, 2, 3], "default": 2},
            "tags": {
                "type": "array",
                "items": {"type": "string", "pattern": "^#"},
                "maxItems": 5,
                "default": [],
            },
            "ids": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0},
                "minItems": 1,
                "default": [1, 2],
            },
            "weights": {"type": "array", "items": {"type": "number"}, "default": []},
            "note": {"type": ["string", "null"], "maxLength": 20, "default": None},
            "limit": {"type": ["integer", "null"], "default": None},
            "flavour": {"type": ["string", "null"], "enum": ["a", "b", None], "default": None},
            "extra": {"type": ["array", "null"], "items": {"type": "string"}, "default": None},
            "rate_limit_per_s": {
                "type": "number",
                "minimum": 0,
                "default": 5,
                "description": "requests started per second, at most (0 = no limit)",
            },
            "key_timeout_s": {
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 30.5,
                "description": "seconds a key may take before it fails",
            },
        },
    }


def test_schema_without_settings_has_the_standard_ones(sdk: ModuleType) -> None:
    schema = submodule("schema").settings_schema(declare(sdk, None, description="x"))
    assert schema["description"] == "x"
    assert schema["required"] == []
    assert schema["properties"]["rate_limit_per_s"]["default"] == 0
    assert schema["properties"]["key_timeout_s"]["default"] == 60


def test_good_settings_are_built(sdk: ModuleType) -> None:
    declaration = declare(sdk)
    values = {
        "token": "abcdefgh1",
        "pages": 50,
        "ratio": 1e-9,
        "level": 3.0,
        "tags": ["#a"],
        "ids": [0, 7],
        "weights": [1, 2.5],
        "note": None,
        "limit": 4,
        "flavour": "b",
        "extra": ["x"],
        "key_timeout_s": 2,
    }
    settings, limits = submodule("settings").build_settings(
        declaration.settings_class, declaration.settings, values
    )
    assert settings == AllTypes(
        token="abcdefgh1",
        pages=50,
        ratio=1e-9,
        level=3,
        tags=["#a"],
        ids=[0, 7],
        weights=[1.0, 2.5],
        limit=4,
        flavour="b",
        extra=["x"],
    )
    assert type(settings.level) is int
    assert (limits.rate_limit_per_s, limits.key_timeout_s) == (0, 2.0)


@pytest.mark.parametrize(
    ("values", "setting", "message"),
    [
        ({"tokn": "x"}, "tokn", "unknown setting 'tokn' (known: token, base_url, "),
        ({"token": "short"}, "token", "'token' must be at least 8 characters long, got 5"),
        ({"token": "ABCDEFGHI"}, "token", "'token' must match the pattern '^[a-z0-9]+$'"),
        ({"base_url": "x" * 201}, "base_url", "must be at most 200 characters long"),
        ({"pages": 0}, "pages", "setting 'pages' must be at least 1, got 0"),
        ({"pages": 51}, "pages", "setting 'pages' must be at most 50, got 51"),
        ({"pages": 1.5}, "pages", "setting 'pages' must be of type int, got float 1.5"),
        ({"ratio": 0}, "ratio", "setting 'ratio' must be above 0, got 0.0"),
        ({"ratio": 1}, "ratio", "setting 'ratio' must be below 1, got 1.0"),
        ({"ratio": float("nan")}, "ratio", "must be of type float, got float nan"),
        ({"loud": "yes"}, "loud", "setting 'loud' must be of type bool, got str 'yes'"),
        ({"mode": "slow"}, "mode", "setting 'mode' must be one of 'fast', 'full', got 'slow'"),
        ({"level": 4}, "level", "setting 'level' must be one of 1, 2, 3, got 4"),
        ({"level": True}, "level", "must be of type 1 | 2 | 3, got bool True"),
        ({"tags": "#a"}, "tags", "setting 'tags' must be of type list[str], got str '#a'"),
        ({"tags": ["#a", "b"]}, "tags", "setting 'tags' item 1 must match the pattern '^#'"),
        ({"tags": ["#"] * 6}, "tags", "setting 'tags' must have at most 5 items, got 6"),
        ({"ids": []}, "ids", "setting 'ids' must have at least 1 items, got 0"),
        ({"ids": [1, -1]}, "ids", "setting 'ids' item 1 must be at least 0, got -1"),
        ({"weights": [None]}, "weights", "'weights' item 0 must be of type float, got null"),
        ({"note": 5}, "note", "setting 'note' must be of type str | None, got int 5"),
        ({"flavour": "c"}, "flavour", "must be one of 'a', 'b', got 'c'"),
        ({"rate_limit_per_s": -0.5}, "rate_limit_per_s", "must be at least 0, got -0.5"),
        ({"key_timeout_s": 0}, "key_timeout_s", "'key_timeout_s' must be above 0, got 0.0"),
    ],
)
def test_bad_settings_name_the_setting(
    sdk: ModuleType, values: dict[str, Any], setting: str, message: str
) -> None:
    declaration = declare(sdk)
    with pytest.raises(submodule("errors").TaskError) as caught:
        submodule("settings").build_settings(
            declaration.settings_class, declaration.settings, {"token": "abcdefgh", **values}
        )
    assert caught.value.setting == setting
    assert message in str(caught.value)


def test_missing_required_setting_is_named(sdk: ModuleType) -> None:
    declaration = declare(sdk)
    with pytest.raises(submodule("errors").TaskError, match="missing required setting 'token'"):
        submodule("settings").build_settings(AllTypes, declaration.settings, {"pages": 2})


def test_post_init_errors_fail_the_settings(sdk: ModuleType) -> None:
    @dataclass
    class Checked:
        low: int = 0
        high: int = 10

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError("low must not exceed high")

    declaration = declare(sdk, Checked)
    with pytest.raises(submodule("errors").TaskError, match="invalid settings: low must not"):
        submodule("settings").build_settings(Checked, declaration.settings, {"low": 11})


@dataclass
class WithDict:
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class WithListOfBool:
    flags: list[bool] = field(default_factory=list)


@dataclass
class WithUnion:
    either: int | str = 0


@dataclass
class WithMixedLiteral:
    choice: Literal["a", 1] = "a"


@dataclass
class WithStandardName:
    key_timeout_s: float = 5.0


@dataclass
class WithUnknownMetadata:
    size: int = field(default=1, metadata={"minimun": 0})


@dataclass
class WithMinimumOnStr:
    name: str = field(default="", metadata={"minimum": 1})


@dataclass
class WithPatternOnInt:
    size: int = field(default=1, metadata={"pattern": "^1$"})


@dataclass
class WithBadPattern:
    name: str = field(default="", metadata={"pattern": "("})


@dataclass
class WithBadDefault:
    size: int = field(default=0, metadata={"minimum": 1})


@dataclass
class WithWrongDefaultType:
    size: int = "1"  # type: ignore[assignment]


@dataclass
class WithNonStringHelp:
    size: int = field(default=1, metadata={"help": 5})


@pytest.mark.parametrize(
    ("settings_class", "message"),
    [
        (dict, "settings class must be a dataclass"),
        (WithDict, "setting 'options' has unsupported type"),
        (WithListOfBool, "setting 'flags' has unsupported type"),
        (WithUnion, "setting 'either' has unsupported type"),
        (WithMixedLiteral, "setting 'choice' has unsupported type"),
        (WithStandardName, "setting 'key_timeout_s' is a standard setting"),
        (WithUnknownMetadata, "setting 'size': unknown metadata 'minimun'"),
        (WithMinimumOnStr, "setting 'name': metadata 'minimum' applies to int and float"),
        (WithPatternOnInt, "setting 'size': metadata 'pattern' applies to str settings"),
        (WithBadPattern, "setting 'name': bad pattern '('"),
        (WithBadDefault, "bad default: setting 'size' must be at least 1, got 0"),
        (WithWrongDefaultType, "bad default: setting 'size' must be of type int"),
        (WithNonStringHelp, "setting 'size': metadata 'help' must be a string"),
    ],
)
def test_bad_settings_classes_are_refused(
    sdk: ModuleType, settings_class: type, message: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        declare(sdk, settings_class)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "Catalog"}, ValueError, "scraper name 'Catalog' must be lowercase"),
        ({"name": "a--b"}, ValueError, "scraper name 'a--b'"),
        ({"name": None}, TypeError, r"needs the scraper's name="),
        ({"rate_limit_per_s": -1}, TypeError, "'rate_limit_per_s' must be at least 0"),
        ({"key_timeout_s": 0}, TypeError, "'key_timeout_s' must be above 0"),
        ({"resources": {"network": True}}, TypeError, "resources must be a seekgive_sdk.Resources"),
    ],
)
def test_bad_declarations_are_refused(
    sdk: ModuleType, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        declare(sdk, None, **kwargs)


def test_class_form_declares_by_class_attributes(sdk: ModuleType) -> None:
    class Links(sdk.Scraper[AllTypes]):
        """Follows links.

        More words."""

        name = "links"
        settings_class = AllTypes
        resources = sdk.Resources(network=True)
        key_timeout_s = 5

        def scrape(self, key: str, ctx: Any) -> None:
            return None

    declaration = submodule("declaration").declare(Links)
    assert (declaration.name, declaration.description) == ("links", "Follows links.")
    assert declaration.resources.network is True
    assert [s.default for s in declaration.settings[-2:]] == [0, 5]
    assert isinstance(declaration.make_scraper(), Links)
    with pytest.raises(TypeError, match="declare name as a class attribute of Links"):
        submodule("declaration").declare(Links, name="other")


def test_class_without_scrape_or_name_is_refused(sdk: ModuleType) -> None:
    class Nameless(sdk.Scraper[Any]):
        def scrape(self, key: str, ctx: Any) -> None:
            return None

    with pytest.raises(ValueError, match="scraper name ''"):
        submodule("declaration").declare(Nameless)
    with pytest.raises(TypeError, match=r"not a seekgive_sdk\.Scraper"):
        submodule("declaration").declare(AllTypes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"network": 1}, "network must be a bool"),
        ({"memory_mib": 0}, "memory_mib must be an int > 0"),
        ({"memory_mib": 1.5}, "memory_mib must be an int > 0"),
        ({"cpus": 0}, "cpus must be a number > 0"),
        ({"timeout_s": -1}, "timeout_s must be a number > 0"),
    ],
)
def test_bad_resources_are_refused(sdk: ModuleType, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        sdk.Resources(**kwargs)


class FakeClock:
    """A clock that moves only when slept on or told to."""

    def __init__(self) -> None:
        self.now_s = 100.0
        self.sleeps_s: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.sleeps_s.append(seconds)
        self.now_s += seconds


def test_rate_limiter_spaces_request_starts(sdk: ModuleType) -> None:
    clock = FakeClock()
    limiter = submodule("ratelimit").RateLimiter(4, clock=clock, sleep=clock.sleep)
    limiter.wait()
    limiter.wait()
    limiter.wait()
    assert clock.sleeps_s == [0.25, 0.25]
    clock.now_s += 0.1
    limiter.wait()
    assert clock.sleeps_s == pytest.approx([0.25, 0.25, 0.15])
    clock.now_s += 10
    limiter.wait()
    assert len(clock.sleeps_s) == 3


def test_rate_limit_zero_never_waits(sdk: ModuleType) -> None:
    clock = FakeClock()
    limiter = submodule("ratelimit").RateLimiter(0, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.wait()
    assert clock.sleeps_s == []


class FakeTimer:
    """Stands for a KeyTimer in the middle of a key with ``left_s`` seconds left."""

    timeout_s = 30.0

    def __init__(self, left_s: float) -> None:
        self.left_s = left_s

    def time_left_s(self) -> float:
        return self.left_s


@pytest.fixture
def fetched(sdk: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The arguments of each fetch a Context makes; fetches return "page"."""
    calls: list[dict[str, Any]] = []

    def fake_fetch(url: str, **kwargs: Any) -> str:
        calls.append({"url": url, **kwargs})
        return "page"

    monkeypatch.setattr(submodule("context"), "fetch_text", fake_fetch)
    yield calls


def make_context(
    sdk: ModuleType, timer: FakeTimer | None = None, limiter: Any = None, **flags: bool
) -> Any:
    """A Context for key "k" without settings, as the SDK makes one per key."""
    return sdk.Context(
        "k",
        None,
        capturing=flags.get("capturing", False),
        discovering=flags.get("discovering", False),
        limiter=limiter or submodule("ratelimit").RateLimiter(0),
        timer=timer or FakeTimer(30.0),
    )


def test_fetches_wait_for_the_rate_limit_and_the_key_deadline(
    sdk: ModuleType, fetched: list[dict[str, Any]]
) -> None:
    clock = FakeClock()
    limiter = submodule("ratelimit").RateLimiter(2, clock=clock, sleep=clock.sleep)
    timer = FakeTimer(4.0)
    ctx = make_context(sdk, timer, limiter)
    assert ctx.fetch_text("http://a/1") == "page"
    ctx.fetch_text("http://a/2", timeout_s=1.5)
    ctx.fetch_text("http://a/3", timeout_s=10)
    assert clock.sleeps_s == [0.5, 0.5]
    assert [call["timeout_s"] for call in fetched] == [4.0, 1.5, 4.0]
    timer.left_s = 0.0
    ctx.fetch_text("http://a/4")
    assert fetched[-1]["timeout_s"] > 0


def test_capture_is_kept_only_when_capturing(sdk: ModuleType) -> None:
    capturing = make_context(sdk, capturing=True)
    capturing.capture("<html>")
    capturing.capture('{"a": 1}', media_type="application/json")
    assert capturing.captured == submodule("context").Capture("application/json", '{"a": 1}')
    quiet = make_context(sdk)
    quiet.capture("<html>")
    assert quiet.captured is None
    with pytest.raises(TypeError):
        quiet.capture(b"<html>")  # type: ignore[arg-type]


def test_discover_dedupes_and_is_kept_only_when_discovering(sdk: ModuleType) -> None:
    ctx = make_context(sdk, discovering=True)
    ctx.discover(["b", "a"])
    ctx.discover(iter(["a", "c"]))
    assert ctx.found == ["b", "a", "c"]
    quiet = make_context(sdk)
    quiet.discover(["a"])
    assert (quiet.discovering, quiet.found) == (False, [])


@pytest.mark.parametrize(
    ("keys", "error", "message"),
    [
        ("abc", TypeError, "not one str"),
        ([""], ValueError, "non-empty str"),
        ([17], ValueError, "non-empty str, not 17"),
        (["é" * 1025], ValueError, "at most 2048 UTF-8 bytes"),
        ([str(i) for i in range(1001)], ValueError, "at most 1000 keys"),
    ],
)
def test_discover_limits(sdk: ModuleType, keys: Any, error: type[Exception], message: str) -> None:
    ctx = make_context(sdk, discovering=True)
    ctx.discover(["kept"])
    with pytest.raises(error, match=message):
        ctx.discover(keys)
    assert ctx.found == ["kept"]


def test_discover_limits_allow_their_bounds(sdk: ModuleType) -> None:
    ctx = make_context(sdk, discovering=True)
    ctx.discover(["é" * 1024, *[str(i) for i in range(999)], "0", "1"])
    assert len(ctx.found) == 1000


# --- in-process units: output files ----------------------------------------------


def test_progress_is_throttled_and_final(tmp_path: Path, sdk: ModuleType) -> None:
    def progress() -> dict[str, int]:
        return json.loads((tmp_path / "progress.json").read_text(encoding="utf-8"))

    output = submodule("output")
    with output.OutputWriter(tmp_path, total=3, progress_interval_s=3600) as writer:
        assert progress() == {"done": 0, "total": 3}
        writer.add("a", "", None)
        writer.add("b", "", "failed")
        assert progress() == {"done": 0, "total": 3}
    assert progress() == {"done": 2, "total": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "progress.json",
        "records.jsonl",
        "status.jsonl",
    ]


def test_progress_is_rewritten_after_each_key_when_not_throttled(
    tmp_path: Path, sdk: ModuleType
) -> None:
    output = submodule("output")
    with output.OutputWriter(tmp_path, total=2, progress_interval_s=0) as writer:
        writer.add("a", "", None)
        assert json.loads((tmp_path / "progress.json").read_text()) == {"done": 1, "total": 2}


def test_discovered_keys_are_flushed_with_the_status_line(tmp_path: Path, sdk: ModuleType) -> None:
    output = submodule("output")
    with output.OutputWriter(tmp_path, total=2, discover=True) as writer:
        writer.add("a", "", None, found=["x", "y"])
        writer.add("b", "", None)
        discovered = (tmp_path / "discovered.jsonl").read_text(encoding="utf-8")
        assert discovered == '{"key":"a","found":["x","y"]}\n'
        assert (tmp_path / "status.jsonl").read_text(encoding="utf-8").count("\n") == 2


@pytest.mark.parametrize("result", ["text", [{"a": 1}, "b"], {"x": float("nan")}, {"x": {1, 2}}])
def test_records_must_be_json_objects(sdk: ModuleType, result: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        submodule("output").encode_records("k", result)
