"""The front's pure parts: which headers cross it, which Seeker it forwards to, and
which settings it refuses."""

import pytest

from seeker.errors import ConfigError
from seeker.front.config import FrontConfig
from seeker.front.headers import forwarded, passing
from seeker.front.leader import choose
from seeker.front.sockets import sendable

pytestmark = pytest.mark.unit

A, B, C = "http://a:8765", "http://b:8765", "http://c:8765"


def test_hop_by_hop_headers_and_those_connection_names_stay_behind() -> None:
    kept = passing(
        [
            ("Connection", "keep-alive, X-Secret"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "abc"),
            ("Expect", "100-continue"),
            ("X-Secret", "1"),
            ("Content-Type", "application/json"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ]
    )
    assert list(kept.items()) == [
        ("Content-Type", "application/json"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]


def test_the_peer_is_appended_to_x_forwarded_for_and_the_host_passes_as_sent() -> None:
    out = forwarded(
        [("Host", "seeker.example"), ("X-Forwarded-For", "198.51.100.7")],
        peer="10.0.0.2",
        scheme="http",
        host="seeker.example",
    )
    assert dict(out) == {
        "Host": "seeker.example",
        "X-Forwarded-For": "198.51.100.7, 10.0.0.2",
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Host": "seeker.example",
    }


def test_a_proxy_before_the_front_keeps_the_scheme_and_host_it_was_reached_by() -> None:
    out = forwarded(
        [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "grid.example")],
        peer="10.0.0.3",
        scheme="http",
        host="front:8765",
    )
    assert (out["X-Forwarded-Proto"], out["X-Forwarded-Host"]) == ("https", "grid.example")
    assert out["X-Forwarded-For"] == "10.0.0.3"


def test_the_leader_stays_chosen_while_it_leads_else_the_first_that_does() -> None:
    assert choose(None, [B, C]) == B
    assert choose(C, [B, C]) == C
    assert choose(A, [B]) == B
    assert choose(A, []) is None


def test_a_leader_too_slow_to_answer_stays_chosen_until_another_leads() -> None:
    assert choose(A, [], slow=[A]) == A
    assert choose(A, [B], slow=[A]) == B
    assert choose(None, [], slow=[A]) is None


def test_close_codes_only_a_peer_may_see_become_going_away() -> None:
    assert [sendable(c) for c in (1000, 1012, 4001, None, 1005, 1006, 999)] == [
        1000,
        1012,
        4001,
        *[1001] * 4,
    ]


@pytest.mark.parametrize(
    ("upstreams", "interval_s", "message"),
    [
        ((), 1.0, "upstreams: name at least one Seeker URL"),
        (("ftp://a",), 1.0, "upstreams: 'ftp://a' is not an http:// or https:// URL"),
        (("http://a/api",), 1.0, "without a path or query"),
        ((A, A), 1.0, "upstreams: a Seeker URL is given twice"),
        ((A,), 0.0, "check_interval_s: must be positive, got 0.0"),
    ],
)
def test_a_front_config_that_cannot_work_is_refused(
    upstreams: tuple[str, ...], interval_s: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        FrontConfig(upstreams, check_interval_s=interval_s)
