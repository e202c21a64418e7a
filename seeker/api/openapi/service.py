"""The Seeker itself in the OpenAPI document: who leads, the key it signs tasks
with, and this document."""

from seeker.api.openapi.shapes import (
    Operation,
    Response,
    all_required,
    boolean,
    number,
    obj,
    ok,
    string,
)

TAG = "seeker"
OPENAPI_PATH = "/api/v1/openapi.json"


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/leader",
            "getLeader",
            "Say whether this Seeker leads (a load balancer's health check)",
            TAG,
            {
                200: ok(all_required({"leader": boolean()}), "this Seeker leads"),
                503: Response(
                    "this Seeker stands by; the body names the leader it knows of",
                    {
                        "application/json": all_required(
                            {
                                "leader": boolean(),
                                "holder": string("the leader's name; empty if none yet"),
                                "url": string("where the leader can be reached"),
                                "expires_at": number("when its lease ends, epoch seconds"),
                            }
                        )
                    },
                ),
            },
            public=True,
        ),
        Operation(
            "GET",
            "/api/v1/identity",
            "getIdentity",
            "Show the public key the Seeker signs tasks with",
            TAG,
            {200: ok(all_required({"seeker_key": string(), "key_id": string()}))},
            public=True,
        ),
        Operation(
            "GET",
            OPENAPI_PATH,
            "getOpenApi",
            "This document",
            TAG,
            {200: ok(obj({}), "the OpenAPI 3.1 document of this API")},
            public=True,
        ),
    ]
