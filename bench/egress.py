"""What the Giver's egress gateway adds to a scraper's requests: the latency of
one request and the most requests per second one gateway passes, each beside
the same client going direct in the same run.

Three processes, as on a Giver: this one is the scraper (the client); a child
process serves the sites (the web); another runs the gateway (the Giver's part)
on its own thread and event loop, as the Giver runs it, with one door open and
the sites' addresses in its `allow_local`. None of them waits for another's
GIL, and nothing leaves 127.0.0.1.

The sites: one page of `--page-bytes` over plain HTTP and over HTTPS, on
127.0.0.1, each answer closing its connection; an asyncio server. The HTTPS
site's certificate is self-signed, made at start, and the client verifies it.
Sites are named by address, so the gateway resolves no name; a name would add a
lookup to each request, which is not measured here.

The client: http.client, which urllib (and so the SDK's fetch_text) uses, with
a new connection for every request: the gateway closes each connection after
its answer, so the direct baseline opens a new one per request too and the two
differ only in the gateway. Direct, it connects to the site over TCP; through
the gateway, to the door's unix socket, and asks as urllib asks a proxy: a
plain GET in absolute form (`GET http://127.0.0.1:PORT/page`), or `CONNECT` and
TLS inside the tunnel. The SDK's relay from a TCP port in the container to the
socket is not in the path: this measures the gateway alone.

Latency: `--requests` requests per route and scheme, one at a time, direct and
through the gateway taking turns so that both see the same machine, after
`--warmup` uncounted ones. Prints p50 and p99 of each, in ms; the overhead is
the gateway's p50 (p99) less the direct p50 (p99).

Throughput: `--clients` threads, each fetching the plain page in a loop for
`--load-s` seconds, direct and then through the gateway; requests answered
per second, and the CPU time each process spent meanwhile. On 2 cores the
client, the sites and the gateway compete for them: direct, the client's
threads bound the rate (they use about one core, the GIL's limit); through the
gateway, its one thread is the busiest. Its CPU per request says what it would
pass with a core to itself.

HTTPS runs last, for the connections it may leave open. http.client closes
its socket when it has read the answer, often with the site's TLS close_notify
still unread, and closing a unix socket with unread data resets the gateway's
side instead of ending it. A gateway that then went on waiting for the site
would hold the tunnel open as long as the site waits for the client's
close_notify (asyncio's TLS server: 30 s). The run counts the connections the
gateway still holds SETTLE_S after the last HTTPS request, every client
closed: it must be 0. The sites then stop before the gateway, so that it
stops with no connection left. The child processes are in
bench/_egress_children.py.

`--json` and `--smoke` are bench/_cli.py's.
"""

import argparse
import contextlib
import http.client
import os
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _cli
from _egress_children import HOST, Child, drain, run_gateway, self_signed, serve_sites

PATH = "/page"
TIMEOUT_S = 10.0
# How long after its last request the gateway has to end every tunnel.
SETTLE_S = 0.5
USER_AGENT = "seekgive-sdk/1"
# Sizes of a --smoke run: a few seconds, the children's start included.
SMOKE = {"requests": 20, "warmup": 5, "load_s": 0.5, "clients": 2}


# The client: this process ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site:
    """Where the page is, and for HTTPS the context that verifies its certificate."""

    port: int
    tls: ssl.SSLContext | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


@dataclass(frozen=True, slots=True)
class Route:
    """How the client reaches a site: `door` None, straight over TCP; else through
    the gateway's unix socket at `door`."""

    name: str
    door: Path | None = None

    def open(self, site: Site) -> socket.socket:
        """A new connection on which to send the request for the page."""
        if self.door is None:
            sock = socket.create_connection((HOST, site.port), TIMEOUT_S)
            # As http.client's own connect does.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(TIMEOUT_S)
            sock.connect(str(self.door))
            if site.tls:
                tunnel(sock, site.port)
        if site.tls:
            return site.tls.wrap_socket(sock, server_hostname=HOST)
        return sock

    def target(self, site: Site) -> str:
        """The request's target: absolute to a proxy, as urllib sends it, unless tunnelled."""
        return f"http://{HOST}:{site.port}{PATH}" if self.door and not site.tls else PATH


def tunnel(sock: socket.socket, port: int) -> None:
    """Ask the gateway for a tunnel to HOST:`port` on `sock`, as http.client does."""
    sock.sendall(f"CONNECT {HOST}:{port} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        # Nothing follows the answer's head before the client speaks TLS.
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("the gateway closed the CONNECT without an answer")
        head += chunk
    status = head.split(b"\r\n", 1)[0]
    if status.split(b" ")[1:2] != [b"200"]:
        raise SystemExit(f"the gateway refused the tunnel: {status.decode('latin-1')}")


class ClientConnection(http.client.HTTPConnection):
    """http.client's connection, as urllib uses it, over a socket `route` opens."""

    def __init__(self, route: Route, site: Site) -> None:
        super().__init__(HOST, site.port, timeout=TIMEOUT_S)
        self.route = route
        self.site = site

    def connect(self) -> None:
        self.sock = self.route.open(self.site)


def fetch(route: Route, site: Site, page_bytes: int) -> None:
    """GET the page on a new connection, read all of it and close."""
    connection = ClientConnection(route, site)
    try:
        connection.request(
            "GET", route.target(site), headers={"User-Agent": USER_AGENT, "Accept": "*/*"}
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200 or len(body) != page_bytes:
        raise SystemExit(
            f"{route.name} {site.scheme}: HTTP {response.status} {response.reason}, "
            f"{len(body)} bytes"
        )


def latencies_ms(
    routes: tuple[Route, Route], site: Site, args: argparse.Namespace
) -> dict[str, list[float]]:
    """Each route's latency per request, in ms; the routes take turns, each going
    first every other round."""
    for route in routes:
        for _ in range(args.warmup):
            fetch(route, site, args.page_bytes)
    taken: dict[str, list[float]] = {route.name: [] for route in routes}
    for n in range(args.requests):
        for route in routes if n % 2 else routes[::-1]:
            started = time.perf_counter()
            fetch(route, site, args.page_bytes)
            taken[route.name].append((time.perf_counter() - started) * 1000)
    return taken


@dataclass(frozen=True, slots=True)
class Load:
    """Requests answered in `elapsed_s`, and the CPU seconds each process spent."""

    requests: int
    elapsed_s: float
    cpu_s: dict[str, float]

    @property
    def per_s(self) -> float:
        return self.requests / self.elapsed_s


def load(route: Route, site: Site, pids: dict[str, int], args: argparse.Namespace) -> Load:
    """`--clients` threads fetching the page in a loop for `--load-s` seconds."""
    done = [0] * args.clients
    stop = threading.Event()

    def client(n: int) -> None:
        while not stop.is_set():
            fetch(route, site, args.page_bytes)
            done[n] += 1

    before = {name: cpu_s(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients, thread_name_prefix="client") as pool:
        clients = [pool.submit(client, n) for n in range(args.clients)]
        try:
            stop.wait(args.load_s)
        finally:
            stop.set()
        for running in clients:
            running.result()
    elapsed_s = time.perf_counter() - started
    cpu = {name: cpu_s(pid) - before[name] for name, pid in pids.items()}
    return Load(sum(done), elapsed_s, cpu)


def cpu_s(pid: int) -> float:
    """The CPU seconds (user and system) process `pid` has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Report ---------------------------------------------------------------------------


def p50_p99(taken_ms: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(taken_ms, n=100, method="inclusive")
    return statistics.median(taken_ms), cuts[98]


def report_latency(scheme: str, taken: dict[str, list[float]], prefix: str) -> dict[str, Any]:
    direct_p50, direct_p99 = p50_p99(taken["direct"])
    via_p50, via_p99 = p50_p99(taken["gateway"])
    what = "HTTPS (CONNECT, TLS inside)" if scheme == "https" else "plain HTTP GET"
    print(
        f"latency, {what}, {len(taken['gateway']):,} requests each, a new connection per "
        f"request: through the gateway p50 {via_p50:.3f} ms, p99 {via_p99:.3f} ms",
        flush=True,
    )
    print(
        f"  baseline, direct: p50 {direct_p50:.3f} ms, p99 {direct_p99:.3f} ms; "
        f"the gateway adds {via_p50 - direct_p50:.3f} ms at p50, {via_p99 - direct_p99:.3f} "
        f"ms at p99",
        flush=True,
    )
    return {
        f"{scheme}_requests": len(taken["gateway"]),
        f"{scheme}_gateway_p50_ms": round(via_p50, 3),
        f"{scheme}_gateway_p99_ms": round(via_p99, 3),
        f"{scheme}_direct_p50_ms": round(direct_p50, 3),
        f"{scheme}_direct_p99_ms": round(direct_p99, 3),
        f"{prefix}_p50_ms": round(via_p50 - direct_p50, 3),
        f"{prefix}_p99_ms": round(via_p99 - direct_p99, 3),
    }


def report_load(via: Load, direct: Load, clients: int) -> dict[str, Any]:
    def cpu(run: Load) -> str:
        return ", ".join(f"{name} {s:.2f} s" for name, s in run.cpu_s.items())

    gateway_ms = via.cpu_s["gateway"] * 1000 / via.requests
    print(
        f"throughput, plain HTTP GET, {clients} client threads: through the gateway "
        f"{via.per_s:,.0f} requests/s ({via.requests:,} in {via.elapsed_s:.1f} s; CPU "
        f"{cpu(via)}; the gateway {gateway_ms:.3f} ms CPU per request)",
        flush=True,
    )
    print(
        f"  baseline, direct: {direct.per_s:,.0f} requests/s ({direct.requests:,} in "
        f"{direct.elapsed_s:.1f} s; CPU {cpu(direct)}); the gateway passes "
        f"{via.per_s / direct.per_s:.0%} of that",
        flush=True,
    )
    return {
        "load_clients": clients,
        "egress_max_rps": round(via.per_s, 1),
        "egress_load_requests": via.requests,
        "egress_load_s": round(via.elapsed_s, 2),
        "egress_gateway_cpu_ms_per_request": round(gateway_ms, 4),
        "egress_client_cpu_s": round(via.cpu_s["client"], 2),
        "egress_sites_cpu_s": round(via.cpu_s["sites"], 2),
        "egress_gateway_cpu_s": round(via.cpu_s["gateway"], 2),
        "direct_max_rps": round(direct.per_s, 1),
        "direct_load_requests": direct.requests,
        "direct_load_s": round(direct.elapsed_s, 2),
        "direct_client_cpu_s": round(direct.cpu_s["client"], 2),
        "direct_sites_cpu_s": round(direct.cpu_s["sites"], 2),
    }


def report_open(connections: int, args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"left open: {connections:,} connections in the gateway {SETTLE_S} s after the "
        f"last of its {args.warmup + args.requests:,} HTTPS requests, every client closed",
        flush=True,
    )
    return {"egress_connections_open_after_https": connections}


def check_ledger(tallies: dict[str, Any], sites: dict[str, Site], expected: dict[str, int]) -> None:
    """The gateway recorded each request it passed, with the answer's class."""
    for scheme, site in sites.items():
        tally = tallies.get(f"{HOST}:{site.port}", {})
        outcome = "tunnel" if site.tls else "2xx"
        if tally.get("outcomes") != {outcome: expected[scheme]}:
            raise SystemExit(
                f"the gateway's ledger holds {tally} for the {scheme} site, "
                f"not {expected[scheme]} requests, each {outcome}"
            )


def main() -> int:
    return _cli.run("egress bench", bench)


def bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per route and scheme")
    parser.add_argument("--warmup", type=int, default=100, help="per route and scheme")
    parser.add_argument("--page-bytes", type=int, default=2048)
    parser.add_argument("--clients", type=int, default=8, help="threads of the load")
    parser.add_argument("--load-s", type=float, default=15.0, help="per route")
    args = _cli.parse(parser, SMOKE)
    if args.requests < 2:
        parser.error("--requests must be at least 2 (for percentiles)")

    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="seekgive-bench-")))
        cert, key = self_signed(work)
        sites_process = Child(serve_sites, args.page_bytes, str(cert), str(key))
        stack.callback(sites_process.end)
        tls = ssl.create_default_context(cafile=str(cert))
        sites = {"http": Site(sites_process.first[0]), "https": Site(sites_process.first[1], tls)}
        allow_local = [f"{HOST}:{site.port}" for site in sites.values()]
        gateway = Child(run_gateway, str(work / "gateway"), allow_local)
        stack.callback(gateway.end)
        routes = (Route("direct"), Route("gateway", Path(gateway.first)))
        pids = {"client": os.getpid(), "sites": sites_process.pid, "gateway": gateway.pid}

        figures: dict[str, Any] = {"page_bytes": args.page_bytes}
        latency_started = time.monotonic()
        taken = latencies_ms(routes, sites["http"], args)
        figures |= report_latency("http", taken, "egress_overhead")
        latency_s = time.monotonic() - latency_started

        direct = load(routes[0], sites["http"], pids, args)
        via = load(routes[1], sites["http"], pids, args)
        figures |= report_load(via, direct, args.clients)

        # Last, for the tunnels it leaves open (the module's docstring says why).
        latency_started = time.monotonic()
        taken = latencies_ms(routes, sites["https"], args)
        figures |= report_latency("https", taken, "egress_tls_overhead")
        latency_s += time.monotonic() - latency_started
        figures["latency_s"] = round(latency_s, 1)
        time.sleep(SETTLE_S)
        figures |= report_open(gateway.ask("connections"), args)

        # The sites go first: their connections end, and with them the gateway's.
        sites_process.end()
        drain(gateway)
        passed = args.warmup + args.requests
        check_ledger(gateway.ask("stop"), sites, {"http": passed + via.requests, "https": passed})
    figures["elapsed_s"] = round(time.monotonic() - started, 1)
    print(f"run: {figures['elapsed_s']} s", flush=True)
    _cli.print_figures(args, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
