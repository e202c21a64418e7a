"""A result's log: cut to its bound, carried in the signed header, refused past it."""

import pytest

from channel.errors import InvalidResult, WireError
from channel.wire.identity import Identity
from channel.wire.results import (
    LOG_HEAD_BYTES,
    MAX_LOG_BYTES,
    KeyOutcome,
    Result,
    cut_log,
)
from channel.wire.signing import sign_result, verify_signature

pytestmark = pytest.mark.unit


def failed_result(log: str, image_id: str = "sha256:" + "ab" * 32) -> Result:
    return Result(
        result_id="r1",
        task_id="j1-00000.0",
        job_id="j1",
        giver_id="g1",
        records=[],
        outcomes=[KeyOutcome("a", False, "scraper exited with code 3")],
        error="scraper exited with code 3",
        started_at=1.0,
        finished_at=2.0,
        log=log,
        image_id=image_id,
    )


def test_a_short_log_is_kept_whole() -> None:
    assert cut_log(b"starting\nTraceback ...\nValueError: boom\n") == (
        "starting\nTraceback ...\nValueError: boom\n"
    )


def test_a_long_log_keeps_its_start_and_end_and_says_what_was_cut() -> None:
    log = b"S" * LOG_HEAD_BYTES + b"m" * (5 * MAX_LOG_BYTES) + b"E" * 1000
    cut = cut_log(log)
    assert len(cut.encode()) <= MAX_LOG_BYTES
    head, marker, tail = cut.split("\n")
    assert head == "S" * LOG_HEAD_BYTES
    assert tail.endswith("E" * 1000) and set(tail) == {"m", "E"}
    dropped = len(log) - len(head) - len(tail)
    assert marker == f"[... {dropped} bytes of the log cut here ...]"


def test_bytes_that_are_not_utf8_stay_within_the_bound() -> None:
    cut = cut_log(b"\xff" * (2 * MAX_LOG_BYTES) + "ü".encode() * 10)
    assert len(cut.encode()) <= MAX_LOG_BYTES
    assert cut.endswith("ü" * 10) and "\ufffd" in cut


def test_the_log_and_image_id_are_signed_with_the_header() -> None:
    identity = Identity.generate()
    result = sign_result(identity, failed_result("faulty: giving up on purpose\n"))
    back = Result.from_wire(result.to_wire())
    assert (back.log, back.image_id) == (result.log, result.image_id)
    verify_signature(back, identity.public_key)
    altered = Result.from_wire({**result.to_wire(), "log": "something else\n"})
    with pytest.raises(InvalidResult, match="signature does not verify"):
        verify_signature(altered, identity.public_key)


def test_a_result_without_a_log_has_none_on_the_wire() -> None:
    wire = failed_result("", image_id="").to_wire()
    assert "log" not in wire and "image_id" not in wire


def test_a_log_over_the_bound_is_refused() -> None:
    wire = failed_result("x" * (MAX_LOG_BYTES + 1)).to_wire()
    with pytest.raises(WireError, match=f"result.log must be a string of at most {MAX_LOG_BYTES}"):
        Result.from_wire(wire)
