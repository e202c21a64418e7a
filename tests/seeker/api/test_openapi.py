"""The OpenAPI document, over real HTTP from a real Seeker: served to anyone,
valid OpenAPI 3.1, and describing exactly the routes the Seeker serves under
/api/v1 (a route added without a description fails here, by name)."""

import re
from typing import Any

import aiohttp
from aiohttp import web
from openapi_spec_validator import validate

from channel.wire import canonical
from seeker.access.auth import PUBLIC_ROUTES
from seeker.api.openapi import document
from seeker.daemon import Seeker

API_ROOT = "/api/v1"
METHODS = ("get", "put", "post", "delete", "patch")


async def served(seeker: Seeker) -> dict[str, Any]:
    """The document as the Seeker serves it, asked for without a token."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{seeker.url}{API_ROOT}/openapi.json") as response:
            assert response.status == 200, await response.text()
            assert response.content_type == "application/json"
            return canonical.loads(await response.read())


def api_of(seeker: Seeker) -> web.Application:
    assert seeker.api is not None
    return seeker.api


def described(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (METHOD, path, operation) of `doc`."""
    return [
        (method.upper(), path, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def route_of(api: web.Application, method: str, path: str) -> web.AbstractRoute | None:
    """The route of `api` that serves `method` on the described `path` (each path
    parameter filled with a sample value): the first that matches, as aiohttp's
    router takes them (a path may have several resources, one per method)."""
    sample = re.sub(r"\{(\w+)\}", r"sample-\1", path)
    for resource in api.router.resources():
        info = resource.get_info()
        pattern = info.get("pattern")
        matches = pattern.fullmatch(sample) if pattern is not None else info.get("path") == sample
        route = next((r for r in resource if r.method == method), None) if matches else None
        if route is not None:
            return route
    return None


def served_routes(api: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in api.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


async def test_the_document_is_served_to_anyone_and_is_valid_openapi_3_1(seeker: Seeker) -> None:
    doc = await served(seeker)
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert doc == canonical.loads(canonical.dumps(document()))
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an operator token (sgo_...)",
    }
    assert doc["security"] == [{"bearer": []}]


async def test_every_api_route_is_described_and_every_operation_is_served(
    seeker: Seeker,
) -> None:
    api, doc = api_of(seeker), await served(seeker)
    covered: set[tuple[str, str]] = set()
    not_served = []
    for method, path, _ in described(doc):
        if not path.startswith(API_ROOT + "/"):
            continue
        route = route_of(api, method, path)
        if route is None:
            not_served.append(f"{method} {path}")
        else:
            covered.add((route.method, route.resource.canonical))
    undescribed = sorted(f"{m} {p}" for m, p in served_routes(api) - covered)
    assert not undescribed, f"routes with no description in seeker/api/openapi: {undescribed}"
    assert not not_served, f"described but not served: {not_served}"


async def test_the_public_operations_are_the_public_routes(seeker: Seeker) -> None:
    api, doc = api_of(seeker), await served(seeker)
    public_routes = {
        (route.method, route.resource.canonical)
        for route in api.router.routes()
        if (route.resource, route.method) in api[PUBLIC_ROUTES]
    }
    described_public = set()
    for method, path, operation in described(doc):
        route = route_of(api, method, path)
        assert route is not None and route.resource is not None
        if operation.get("security") == []:
            described_public.add((route.method, route.resource.canonical))
        else:
            assert "401" in operation["responses"], (method, path)
    assert described_public == public_routes
    assert ("GET", f"{API_ROOT}/openapi.json") in public_routes


def test_every_operation_has_an_id_a_summary_and_its_errors_described() -> None:
    doc = document()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    ids = [operation["operationId"] for _, _, operation in described(doc)]
    assert len(ids) == len(set(ids)), "operationIds repeat"
    for method, path, operation in described(doc):
        assert operation["summary"], (method, path)
        for status, response in operation["responses"].items():
            # A Seeker standing by names the leader instead.
            leader_elsewhere = (path, status) == (f"{API_ROOT}/leader", "503")
            if status[0] in "45" and not leader_elsewhere:
                assert response.get("content") == error, (method, path, status)
        params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert params == set(re.findall(r"\{(\w+)\}", path)), (method, path)
