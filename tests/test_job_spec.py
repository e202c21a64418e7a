"""Job submissions: what is accepted, how it is cut, and every refusal."""

import pytest

from seeker.errors import InvalidJob
from seeker.spec import parse_job


def test_range_is_cut_into_blocks() -> None:
    spec = parse_job({"image": "x:1", "range": [1, 501], "block_size": 25})
    blocks = spec.blocks()
    assert len(blocks) == 20
    assert (blocks[0].start, blocks[0].stop, blocks[-1].start, blocks[-1].stop) == (1, 26, 476, 501)


def test_keys_are_deduplicated_in_order_and_cut() -> None:
    spec = parse_job({"image": "x:1", "keys": ["b", "a", "b", "c"], "block_size": 2})
    assert [list(b) for b in spec.blocks()] == [["b", "a"], ["c"]]


def test_defaults_and_limits_overrides() -> None:
    spec = parse_job({"image": " x:1 ", "keys": ["a"], "limits": {"timeout_s": 5}})
    assert (spec.image, spec.network, spec.limits.timeout_s, spec.limits.pids) == (
        "x:1",
        "none",
        5.0,
        128,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keys": ["a"]}, "image is required"),
        ({"image": "", "keys": ["a"]}, "image is required"),
        ({"image": "x"}, "no keys"),
        ({"image": "x", "keys": []}, "keys is empty"),
        ({"image": "x", "keys": [1]}, "list of strings"),
        ({"image": "x", "keys": [""]}, "empty strings"),
        ({"image": "x", "keys": ["k" * 2049]}, "over 2048 bytes"),
        ({"image": "x", "range": [10, 1]}, r"range \[10, 1\) is empty or reversed"),
        ({"image": "x", "range": [3, 3]}, "empty or reversed"),
        ({"image": "x", "range": [1]}, "two integers"),
        ({"image": "x", "range": [1, 5], "keys": ["a"]}, "either keys or range"),
        ({"image": "x", "keys": ["a"], "colour": "red"}, r"unknown field\(s\): colour"),
        ({"image": "x", "keys": ["a"], "block_size": 0}, "block_size"),
        ({"image": "x", "keys": ["a"], "block_size": True}, "block_size"),
        ({"image": "x", "keys": ["a"], "network": "wifi"}, "network must be one of"),
        ({"image": "x", "keys": ["a"], "settings": []}, "settings must be an object"),
        ({"image": "x", "keys": ["a"], "limits": {"ram": 1}}, r"unknown limit\(s\): ram"),
        ({"image": "x", "keys": ["a"], "limits": {"pids": -1}}, "positive"),
        ([], "JSON object"),
        ({"image": "x", "range": [0, 10**9], "block_size": 1}, "make 1000000000 tasks"),
    ],
)
def test_bad_submissions_are_refused_with_a_clear_message(body: object, message: str) -> None:
    with pytest.raises(InvalidJob, match=message):
        parse_job(body)


def test_settings_too_deep_to_pass_on_are_refused() -> None:
    deep: dict = {}
    for _ in range(300):
        deep = {"d": deep}
    with pytest.raises(InvalidJob, match="settings cannot be passed on"):
        parse_job({"image": "x", "keys": ["a"], "settings": deep})
