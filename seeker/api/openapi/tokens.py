"""The tokens of the OpenAPI document: admission tokens that let Givers in
(seeker.api.app) and reader tokens that let people read from the Channel
(seeker.api.readers)."""

from channel.store.readers import ALL, MAX_NAME_CHARS, MAX_SCOPE_NAMES
from channel.wire.tokens import MAX_LABEL_CHARS
from seeker.api.openapi.shapes import (
    Operation,
    Schema,
    all_required,
    array,
    boolean,
    integer,
    nullable,
    number,
    obj,
    ref,
    string,
    token_operations,
)

TAG = "tokens"


def schemas() -> dict[str, Schema]:
    scope = array(
        string(minLength=1, maxLength=MAX_NAME_CHARS),
        f"names, or {ALL} for all",
        maxItems=MAX_SCOPE_NAMES,
    )
    return {
        "AdmissionToken": all_required(
            {
                "token_id": string(),
                "label": string(),
                "created_at": number(),
                "expires_at": nullable(number()),
                "max_uses": nullable(integer()),
                "uses": integer(minimum=0),
                "revoked_at": nullable(number()),
                "state": string(enum=["valid", "revoked", "expired", "used up"]),
            },
            "An admission token, without its secret.",
        ),
        "ReaderToken": all_required(
            {
                "token_id": string(),
                "label": string(),
                "jobs": scope,
                "datasets": scope,
                "upload": boolean(),
                "created_at": number(),
                "expires_at": nullable(number()),
                "revoked": boolean(),
            },
            "A reader token, without its secret: which jobs and datasets it may read.",
        ),
        "ReaderRequest": obj(
            {
                "label": string(),
                "jobs": scope,
                "datasets": scope,
                "upload": boolean("whether it may upload datasets"),
                "expires_in_s": number(exclusiveMinimum=0),
            },
            closed=True,
            description="At least one job or dataset, or upload.",
        ),
    }


def operations() -> list[Operation]:
    return [
        *token_operations(
            "/api/v1/tokens",
            TAG,
            "AdmissionToken",
            "admission token",
            listed_as="tokens",
            body=obj(
                {
                    "label": string(maxLength=MAX_LABEL_CHARS),
                    "expires_in_s": number(exclusiveMinimum=0),
                    "uses": integer(minimum=1, description="how many Givers it admits"),
                },
                closed=True,
            ),
            invalid="invalid_token_request",
            unknown="unknown_token",
        ),
        *token_operations(
            "/api/v1/readers",
            TAG,
            "ReaderToken",
            "reader token",
            listed_as="readers",
            body=ref("ReaderRequest"),
            invalid="invalid_token_request",
            unknown="unknown_reader",
        ),
    ]
