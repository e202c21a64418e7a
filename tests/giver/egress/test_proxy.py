"""Reading what a scraper asks the gateway for. Pure logic."""

import pytest

from giver.egress import proxy

pytestmark = pytest.mark.unit


def test_connect_names_the_host_and_port_of_a_tunnel() -> None:
    request = proxy.parse(b"CONNECT Shop.Example:443 HTTP/1.1\r\nHost: shop.example:443\r\n\r\n")
    assert (request.method, request.host, request.port, request.tunnel) == (
        "CONNECT",
        "shop.example",
        443,
        True,
    )
    assert proxy.parse(b"CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n").host == "2001:db8::1"


def test_a_plain_request_is_forwarded_in_origin_form_without_hop_by_hop_headers() -> None:
    head = (
        b"POST http://shop.example:8080/items?page=2 HTTP/1.1\r\n"
        b"Host: shop.example:8080\r\n"
        b"Proxy-Connection: keep-alive\r\n"
        b"Proxy-Authorization: Basic c2VjcmV0\r\n"
        b"Connection: keep-alive\r\n"
        b"Content-Length: 2\r\n\r\n"
    )
    request = proxy.parse(head)
    assert (request.host, request.port, request.tunnel) == ("shop.example", 8080, False)
    assert request.upstream_head == (
        b"POST /items?page=2 HTTP/1.1\r\n"
        b"Host: shop.example:8080\r\n"
        b"Content-Length: 2\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert proxy.parse(b"GET http://shop.example HTTP/1.0\r\n\r\n").upstream_head.startswith(
        b"GET / HTTP/1.0\r\n"
    )


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"GET https://shop.example/ HTTP/1.1\r\n\r\n", "send https:// requests through CONNECT"),
        (b"GET /relative HTTP/1.1\r\n\r\n", "expected an absolute http:// URL"),
        (b"CONNECT shop.example HTTP/1.1\r\n\r\n", "CONNECT needs host:port"),
        (b"CONNECT shop.example:99999 HTTP/1.1\r\n\r\n", "not a port"),
        (b"GET http://u:p@shop.example/ HTTP/1.1\r\n\r\n", "user:password@ in the URL"),
        (b"HELLO\r\n\r\n", "not an HTTP/1 request line"),
        (b"GET http://shop.example/ HTTP/1.1\r\nno colon here\r\n\r\n", "not a header line"),
    ],
)
def test_what_the_gateway_cannot_read_is_refused_with_why(head: bytes, reason: str) -> None:
    with pytest.raises(proxy.BadRequest, match=reason):
        proxy.parse(head)


def test_a_refusal_says_why_in_its_status_line_and_body() -> None:
    answer = proxy.answer(403, "egress refused: 10.0.0.5 is a private address\n(10.0.0.0/8) é")
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 403 egress refused: 10.0.0.5 is a private address (10.0.0.0/8) ?"
    assert "X-Seekgive-Egress: refused" in lines
    assert body == b"egress refused: 10.0.0.5 is a private address (10.0.0.0/8) ?\n"
    assert f"Content-Length: {len(body)}" in lines
    assert b"X-Seekgive-Egress: failed\r\n" in proxy.answer(502, "cannot connect")


def test_the_class_of_an_answer_is_read_from_its_status_line() -> None:
    assert proxy.outcome_of(b"HTTP/1.1 204 No Content\r\n") == "2xx"
    assert proxy.outcome_of(b"HTTP/1.0 404 Not Found\r\n") == "4xx"
    assert proxy.outcome_of(b"\x16\x03\x01") == "other"


def test_the_forwarded_request_names_the_host_checked_and_carries_only_its_body() -> None:
    head = (
        b"POST http://shop.example/a HTTP/1.1\r\nHost: victim.example\r\nContent-Length: 5\r\n\r\n"
    )
    request = proxy.parse(head)
    assert request.upstream_head == (
        b"POST /a HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
    )
    assert request.body_bytes == 5
    with pytest.raises(proxy.BadRequest, match="sent in chunks") as chunked:
        proxy.parse(b"POST http://shop.example/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert chunked.value.status == 411


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("loc\xadalhost:80", "not a host name"),  # IDNA would map it to localhost
        ("\xaa.example:80", "not a host name"),
        (f"{'a' * 250}.com:443", "not a host name"),
        ("shop.example:\xb2", "not a port"),
        ("shop..example:443", "not a host name"),
    ],
)
def test_a_host_is_an_ascii_name_or_an_address_and_a_port_is_digits(
    target: str, reason: str
) -> None:
    with pytest.raises(proxy.BadRequest, match=reason):
        proxy.parse(f"CONNECT {target} HTTP/1.1\r\n\r\n".encode("latin-1"))
