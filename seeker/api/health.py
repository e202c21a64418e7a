"""Routes for whoever watches the Seeker: liveness (`GET /healthz`, public, on the
root app), diagnostics of every service it depends on (`GET
/api/v1/diagnostics`, seeker.views.health) and its metrics (`GET /metrics`,
seeker.views.metrics)."""

from aiohttp import web
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from channel.jsonweb import json_response
from seeker.api.parts import parts
from seeker.views.metrics import SeekerCollector


def add_diagnostics_route(app: web.Application) -> None:
    app.router.add_get("/diagnostics", diagnostics)


async def diagnostics(request: web.Request) -> web.Response:
    """`{"ok", "checks": [{"name", "kind", "ok", "latency_ms", "error"}]}`: 200 whenever
    the checks ran, whatever they found."""
    checks = await parts(request).services.diagnose()
    return json_response({"ok": all(c.ok for c in checks), "checks": [c.to_wire() for c in checks]})


def add_liveness_route(app: web.Application) -> web.AbstractRoute:
    """`GET /healthz`: 200 `{"status": "ok", "role": "leader"|"standby"}` while the
    process serves; anyone may ask. Returns the route."""
    return app.router.add_get("/healthz", healthz)


async def healthz(request: web.Request) -> web.Response:
    role = "leader" if parts(request).leading() else "standby"
    return json_response({"status": "ok", "role": role})


def add_metrics_route(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)


async def metrics(request: web.Request) -> web.Response:
    """The metrics in the format the scraper asks for (Prometheus' text format by
    default, OpenMetrics on request), over a registry of this Seeker's own, never
    the process-wide one."""
    seeker = parts(request)
    registry = CollectorRegistry()
    registry.register(
        SeekerCollector(
            seeker.coordinator, seeker.coordinator.registry, seeker.leading, seeker.loop_lag
        )
    )
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encode(registry), headers={"Content-Type": content_type})
