"""The operator routes in the OpenAPI document: who is asking, operator tokens,
the password (seeker.api.operator)."""

from channel.wire.tokens import MAX_LABEL_CHARS
from seeker.access.operators import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from seeker.api.openapi.shapes import (
    JSON,
    Body,
    Operation,
    Schema,
    all_required,
    boolean,
    error,
    json_body,
    nullable,
    number,
    obj,
    ok,
    string,
    token_operations,
)

TAG = "operator"


def schemas() -> dict[str, Schema]:
    return {
        "OperatorToken": all_required(
            {
                "token_id": string(),
                "label": string(),
                "created_at": number(),
                "expires_at": nullable(number()),
                "state": string(enum=["active", "expired", "revoked"]),
            },
            "An operator token, without its secret.",
        ),
    }


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/operator",
            "whoAmI",
            "Say how this request was let in",
            TAG,
            {
                200: ok(
                    all_required(
                        {
                            "via": string('"password", "token ID" or "fixed token"'),
                            "session": boolean("whether by the admin page's session cookie"),
                        }
                    )
                )
            },
        ),
        *token_operations(
            "/api/v1/operator/tokens",
            TAG,
            "OperatorToken",
            "operator token",
            listed_as="tokens",
            body=obj(
                {
                    "label": string(maxLength=MAX_LABEL_CHARS),
                    "expires_in_s": number(exclusiveMinimum=0),
                },
                closed=True,
            ),
            invalid="invalid_operator_request",
            unknown="unknown_operator_token",
            revoke=Body(
                {
                    JSON: obj(
                        {
                            "force": boolean(
                                "revoke it even if it is the token this request is "
                                "authenticated with"
                            )
                        },
                        closed=True,
                    )
                },
                required=False,
            ),
            revoke_conflict=(
                "the token this request is authenticated with, without force "
                "(own_operator_token): its holder would lock itself out"
            ),
        ),
        Operation(
            "PUT",
            "/api/v1/operator/password",
            "setOperatorPassword",
            "Set the operators' password; every session is signed out",
            TAG,
            {
                200: ok(all_required({"password": string(), "sessions": string()})),
                400: error("invalid_operator_request"),
            },
            body=json_body(
                obj(
                    {
                        "password": string(
                            minLength=MIN_PASSWORD_CHARS, maxLength=MAX_PASSWORD_CHARS
                        )
                    },
                    required=("password",),
                    closed=True,
                )
            ),
        ),
    ]
