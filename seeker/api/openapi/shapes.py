"""The building blocks of the OpenAPI document: typed operations, parameters,
bodies and responses, JSON Schema helpers, and the responses every operation
shares (the error body, 401 without an operator, 503 on a Seeker standing by)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]
JSON = "application/json"
NDJSON = "application/x-ndjson"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str = "", **keywords: Any) -> Schema:
    return _typed("string", description, keywords)


def integer(description: str = "", **keywords: Any) -> Schema:
    return _typed("integer", description, keywords)


def number(description: str = "", **keywords: Any) -> Schema:
    return _typed("number", description, keywords)


def boolean(description: str = "") -> Schema:
    return _typed("boolean", description, {})


def nullable(schema: Schema) -> Schema:
    """`schema` or null (a `$ref` cannot carry a type list, so it goes in anyOf)."""
    if "type" in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema, description: str = "", **keywords: Any) -> Schema:
    return _typed("array", description, {"items": items, **keywords})


def extended(name: str, properties: Mapping[str, Schema]) -> Schema:
    """Schema `name` with more `properties`, all of them always given."""
    return {"allOf": [ref(name), all_required(properties)]}


def mapping(values: Schema, description: str = "") -> Schema:
    """An object of any names, each to a `values`."""
    return _typed("object", description, {"additionalProperties": values})


def obj(
    properties: Mapping[str, Schema],
    *,
    required: Iterable[str] = (),
    closed: bool = False,
    description: str = "",
) -> Schema:
    """An object; `closed` where the server refuses fields it does not know."""
    schema = _typed("object", description, {"properties": dict(properties)})
    names = list(required)
    unknown = sorted(set(names) - set(properties))
    if unknown:
        raise ValueError(f"required but not described: {', '.join(unknown)}")
    if names:
        schema["required"] = names
    if closed:
        schema["additionalProperties"] = False
    return schema


def all_required(properties: Mapping[str, Schema], description: str = "") -> Schema:
    """An object the server always gives with every one of `properties`."""
    return obj(properties, required=properties, description=description)


def _typed(kind: str, description: str, keywords: Mapping[str, Any]) -> Schema:
    schema: Schema = {"type": kind, **keywords}
    if description:
        schema["description"] = description
    return schema


@dataclass(frozen=True, slots=True)
class Parameter:
    """A path, query or header parameter."""

    name: str
    location: str
    schema: Schema
    description: str = ""
    required: bool = True

    def to_openapi(self) -> Schema:
        return {
            "name": self.name,
            "in": self.location,
            "required": self.required or self.location == "path",
            "schema": self.schema,
            **({"description": self.description} if self.description else {}),
        }


def path_parameter(name: str, description: str, schema: Schema | None = None) -> Parameter:
    return Parameter(name, "path", schema or string(minLength=1), description)


def page_size(maximum: int, default: int) -> Parameter:
    """The `limit` query parameter of a page: how many items, 1 to `maximum`."""
    return Parameter(
        "limit",
        "query",
        integer(minimum=1, maximum=maximum, default=default),
        "how many on a page",
        required=False,
    )


@dataclass(frozen=True, slots=True)
class Body:
    """A request body: its schema by media type. `json_read` when the handler reads
    it whole as JSON (so it answers 400 to what is not JSON, 413 past the size
    limit); `required` unless the operation may be sent without one."""

    content: Mapping[str, Schema]
    description: str = ""
    json_read: bool = True
    required: bool = True

    def to_openapi(self) -> Schema:
        return {
            "required": self.required,
            "content": {media: {"schema": schema} for media, schema in self.content.items()},
            **({"description": self.description} if self.description else {}),
        }


def json_body(schema: Schema, description: str = "") -> Body:
    return Body({JSON: schema}, description)


@dataclass(frozen=True, slots=True)
class Response:
    description: str
    content: Mapping[str, Schema] = field(default_factory=dict)
    headers: Mapping[str, Schema] = field(default_factory=dict)

    def to_openapi(self) -> Schema:
        answer: Schema = {"description": self.description}
        if self.content:
            answer["content"] = {media: {"schema": s} for media, s in self.content.items()}
        if self.headers:
            answer["headers"] = {name: {"schema": schema} for name, schema in self.headers.items()}
        return answer


def ok(schema: Schema, description: str = "OK") -> Response:
    return Response(description, {JSON: schema})


def issued(token: str) -> Response:
    """A token just issued: schema `token`, and its secret text."""
    secret = string("the token's text, shown this once and never again")
    return ok(extended(token, {"token": secret}), "the token")


def streamed(description: str) -> Response:
    """JSON lines written as they are read, one JSON value a line."""
    return Response(description, {NDJSON: string(description="one JSON value a line")})


def error(description: str) -> Response:
    """An error: `{"code", "message"}` (channel.jsonweb.error_response)."""
    return Response(description, {JSON: ref("Error")})


def error_schema() -> Schema:
    """The body of every error (channel.jsonweb.error_response)."""
    return all_required(
        {
            "code": string("what went wrong, for programs: a word such as unknown_job"),
            "message": string("what went wrong, for people: one line"),
        },
        description="Every error the API answers with, whatever its status.",
    )


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path, and every status its handler can answer with.

    Shared answers are added when the document is made, unless the operation
    gives its own: 401 (and 403 for a forged cookie-borne change) unless
    `public`, 400 and 413 for a body read whole as JSON, and 503 (a Seeker
    standing by, or a store unavailable)."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    responses: Mapping[int, Response]
    parameters: tuple[Parameter, ...] = ()
    body: Body | None = None
    public: bool = False
    description: str = ""

    def to_openapi(self) -> Schema:
        operation: Schema = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": [self.tag],
            "responses": {
                str(status): response.to_openapi()
                for status, response in sorted(self.all_responses().items())
            },
        }
        if self.description:
            operation["description"] = self.description
        if self.parameters:
            operation["parameters"] = [p.to_openapi() for p in self.parameters]
        if self.body is not None:
            operation["requestBody"] = self.body.to_openapi()
        if self.public:
            operation["security"] = []
        return operation

    def all_responses(self) -> dict[int, Response]:
        responses = dict(self.responses)
        if self.body is not None and self.body.json_read:
            responses.setdefault(400, error("the body is not JSON, or not a valid request"))
            responses.setdefault(413, error("the body is over the API's size limit (16 MiB)"))
        if not self.public:
            responses.setdefault(
                401,
                Response(
                    "no operator: no or a wrong bearer token (and no session cookie)",
                    {JSON: ref("Error")},
                    {"WWW-Authenticate": string()},
                ),
            )
            if self.method in UNSAFE_METHODS:
                responses.setdefault(
                    403,
                    error("a change by a session cookie without its CSRF token (csrf_failed)"),
                )
        responses.setdefault(
            503,
            Response(
                "this Seeker stands by (not_leader: see GET /api/v1/leader), or a store "
                "it needs is unavailable (store_unavailable, state_unavailable)",
                {JSON: ref("Error")},
                {"Retry-After": string("seconds, while standing by")},
            ),
        )
        return responses


def token_operations(
    path: str,
    tag: str,
    token: str,
    noun: str,
    *,
    listed_as: str,
    body: Schema,
    invalid: str,
    unknown: str,
    revoke: Body | None = None,
    revoke_conflict: str = "",
) -> list[Operation]:
    """Issue, list and revoke tokens of one kind at `path`: `token` names their
    schema and the operations (issueX, listXs, revokeX), `noun` them in a summary,
    `listed_as` the field that lists them; `invalid` and `unknown` are the codes of
    a bad request and of a token not found. `revoke` is the body a revoke may
    carry, and `revoke_conflict` says when it answers 409."""
    revoked = {200: ok(ref(token)), 404: error(f"no such token ({unknown})")}
    if revoke_conflict:
        revoked[409] = error(revoke_conflict)
    return [
        Operation(
            "POST",
            path,
            f"issue{token}",
            f"Issue a new {noun}",
            tag,
            {201: issued(token), 400: error(invalid)},
            body=json_body(body),
        ),
        Operation(
            "GET",
            path,
            f"list{token}s",
            f"List the {noun}s",
            tag,
            {200: ok(all_required({listed_as: array(ref(token))}))},
        ),
        Operation(
            "POST",
            f"{path}/{{token_id}}/revoke",
            f"revoke{token}",
            f"Revoke the {noun} {{token_id}}",
            tag,
            revoked,
            (path_parameter("token_id", "the token's id"),),
            body=revoke,
        ),
    ]
