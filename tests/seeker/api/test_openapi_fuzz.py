"""Schema-driven fuzzing of the Seeker's JSON API with schemathesis, over real
HTTP on loopback: requests made from the OpenAPI document, valid and invalid,
get no 5xx and are answered only as the document says (status, content type,
body schema, headers); a method a route does not take gets a 405 with `Allow`;
without a token, only the public operations answer.

Three passes: schemathesis's own phases for every operation (boundary and
malformed values, other methods, then random requests); random requests that
name things the Seeker holds (a job and its block, a schedule, tokens, an
admitted and a pending Giver), so they reach past "no such job"; and requests
without a token. The examples are derandomized, so a run is repeatable.

The Seeker runs in a process of its own (tests/bin/serve_seeker.py): generating
requests is CPU-heavy and synchronous, and would hold up an in-process
Seeker's event loop. No Giver is connected, so no job runs a container; the
Docker Engine is only asked about images no one has.
"""

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from support.base import OPERATOR_HEADERS, OPERATOR_TOKEN, TESTS

from channel.wire import canonical
from channel.wire.givers import Capabilities
from channel.wire.identity import Identity
from giver.link.registration import signed_registration
from seeker.api.openapi import document, operations

SCHEMA = schemathesis.openapi.from_dict(document())
EXAMPLES = 10
UNAUTHORIZED_EXAMPLES = 4
STOP_TIMEOUT_S = 10.0
LOG_SHOWN_CHARS = 6000
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.unsupported_method,
    schemathesis.checks.missing_required_header,
    schemathesis.checks.ignored_auth,
]
CAPABILITIES = Capabilities(
    cpus=1, memory_bytes=2**30, arch="amd64", os="linux", docker_version="27.0", slots=1
)
JOB = {"image": "seekgive-test/absent:1", "keys": ["a", "b", "c"], "block_size": 1}
# Invalid requests can be made of an operation that needs a token, a body, or a
# parameter outside its path (a path parameter is a string of any characters).
OPERATIONS = [
    (
        op.method,
        op.path,
        op.public,
        not op.public or op.body is not None or any(p.location != "path" for p in op.parameters),
    )
    for op in operations()
]
IDS = [f"{method} {path}" for method, path, *_ in OPERATIONS]
# The collections whose things the Seeker under test holds (see `make_things`).
THINGS = ("jobs", "givers", "schedules", "tokens", "readers", "operator")
NAMING = [
    (method, path, invalid)
    for method, path, _, invalid in OPERATIONS
    if "{" in path and path.removeprefix("/api/v1/").partition("/")[0] in THINGS
]
NAMING_IDS = [f"{method} {path}" for method, path, _ in NAMING]


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: schemathesis.SerializationContext, value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else canonical.dumps(value)


@dataclass(frozen=True, slots=True)
class Served:
    """The Seeker under test: its URL, its log, and the things it holds, as the
    path parameters that name them (by operation path, or by collection)."""

    url: str
    log: Path
    things: dict[str, dict[str, str]]

    def things_for(self, path: str) -> dict[str, str]:
        if path in self.things:
            return self.things[path]
        return self.things[path.removeprefix("/api/v1/").partition("/")[0]]

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-LOG_SHOWN_CHARS:]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("fuzzed-seeker")
    log = data_dir / "seeker.log"
    script = TESTS / "bin" / "serve_seeker.py"
    with subprocess.Popen(
        [sys.executable, script, data_dir, log, OPERATOR_TOKEN],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://"), f"the Seeker did not start:\n{log.read_text()}"
            yield Served(url, log, make_things(url))
        finally:
            process.terminate()
            process.wait(STOP_TIMEOUT_S)


def make_things(url: str) -> dict[str, dict[str, str]]:
    """Make one of each thing the API names in a path."""
    api = f"{url}/api/v1"
    with requests.Session() as http:
        http.headers.update(OPERATOR_HEADERS)

        def post(path: str, body: Any, status: int = 201) -> Any:
            response = http.post(f"{api}{path}", data=canonical.dumps(body))
            assert response.status_code == status, response.text
            return response.json()

        job = post("/jobs", JOB)
        schedule = post("/schedules", {"name": "hourly", "every_s": 3600, "job": JOB})
        token = post("/tokens", {"label": "fuzz", "uses": 1})
        reader = post("/readers", {"jobs": ["*"]})
        operator = post("/operator/tokens", {"label": "fuzz"})
        admitted, pending = Identity.generate(), Identity.generate()
        for identity, extra, status in (
            (admitted, {"token": token["token"]}, 200),
            (pending, {}, 403),
        ):
            body = signed_registration(
                identity, name="fuzz", volunteer="", capabilities=CAPABILITIES
            )
            post("/givers", {**body, **extra}, status)
    job_paths = {"job_id": job["job_id"], "seq": "0"}
    return {
        "/api/v1/tokens/{token_id}/revoke": {"token_id": token["token_id"]},
        "/api/v1/readers/{token_id}/revoke": {"token_id": reader["token_id"]},
        "/api/v1/operator/tokens/{token_id}/revoke": {"token_id": operator["token_id"]},
        "/api/v1/givers/{giver_id}/approve": {"giver_id": pending.id},
        "givers": {"giver_id": admitted.id},
        "jobs": job_paths,
        "schedules": {"ref": schedule["schedule_id"]},
    }


def answered(case: schemathesis.Case, served: Served, headers: dict[str, str], **call: Any) -> int:
    """Send `case`, check the answer against the document; its status. A failure
    carries the end of the Seeker's log (where a 500's traceback is)."""
    try:
        response = case.call(base_url=served.url, headers=headers, **call)
        case.validate_response(response, checks=CHECKS, headers=headers)
    except Exception as e:
        e.add_note(f"the Seeker's log ends with:\n{served.log_tail()}")
        raise
    return response.status_code


def fuzz(
    served: Served,
    method: str,
    path: str,
    headers: dict[str, str],
    examples: int,
    invalid: bool,
    fixed: dict[str, str],
) -> list[int]:
    """Send `examples` valid and (if `invalid`) as many invalid requests made from
    the document for one operation, with the `fixed` path parameters; check each
    answer. The statuses seen."""
    operation = SCHEMA[path][method]
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if invalid else [])
    statuses: list[int] = []
    with requests.Session() as session:
        for mode in modes:

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=(Phase.explicit, Phase.generate),
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(mode, path_parameters=fixed))
            def send(case: schemathesis.Case) -> None:
                statuses.append(answered(case, served, headers, session=session))

            send()
    return statuses


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_made_from_the_document_gets_a_server_error(
    case: schemathesis.Case, served: Served
) -> None:
    """Schemathesis's phases for each operation: boundary and malformed values
    (wrong types, missing fields, other methods), then random requests."""
    answered(case, served, OPERATOR_HEADERS)


@pytest.mark.parametrize(("method", "path", "invalid"), NAMING, ids=NAMING_IDS)
def test_requests_about_real_things_are_answered_as_described(
    served: Served, method: str, path: str, invalid: bool
) -> None:
    things = served.things_for(path)
    assert fuzz(served, method, path, OPERATOR_HEADERS, EXAMPLES, invalid, things)


@pytest.mark.parametrize(("method", "path", "public", "invalid"), OPERATIONS, ids=IDS)
def test_without_a_token_only_public_operations_answer_and_none_fails(
    served: Served, method: str, path: str, public: bool, invalid: bool
) -> None:
    examples = EXAMPLES if public else UNAUTHORIZED_EXAMPLES
    statuses = fuzz(served, method, path, {}, examples, invalid, {})
    if not public:
        assert set(statuses) == {401}, statuses
