"""The Givers of the OpenAPI document: what Givers call (registration, their
session, image archives) and what operators do to Givers (list, approve,
revoke, unflag, invalidate their work)."""

from channel.wire.signed_requests import GIVER_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER
from seeker.api.openapi.shapes import (
    Operation,
    Parameter,
    Response,
    Schema,
    all_required,
    array,
    boolean,
    error,
    integer,
    json_body,
    mapping,
    nullable,
    number,
    obj,
    ok,
    path_parameter,
    ref,
    string,
)

TAG = "givers"


def schemas() -> dict[str, Schema]:
    capabilities = obj(
        {
            "cpus": integer(),
            "memory_bytes": integer(),
            "arch": string(),
            "os": string(),
            "docker_version": string(),
            "slots": integer(minimum=1),
            "images": array(string(), "images it has cached: tags, digests and ids"),
            "labels": mapping(string(), "its volunteer's labels"),
            "paused": string("why it takes no tasks now; absent while it takes them"),
            "network_paused": string(
                "why it takes no task that needs the network now (a traffic cap reached); "
                "absent while it takes them"
            ),
        },
        required=("cpus", "memory_bytes", "arch", "os", "docker_version", "slots"),
    )
    record = {
        "reliability": number(minimum=0, maximum=1),
        "seconds_per_key": nullable(number()),
        "tasks": integer(minimum=0),
        "trust": mapping(integer(), "results validated, by image"),
        "rejected_in_row": integer(minimum=0),
        "rejected": integer(minimum=0),
        "validated": integer(minimum=0),
        "flagged": string("why its results are no longer taken; empty if they are"),
        "flagged_at": nullable(number()),
    }
    return {
        "GiverInfo": obj(
            {
                "giver_id": string(),
                "public_key": string(),
                "name": string(),
                "capabilities": ref("Capabilities"),
                "signed_at": number("epoch seconds"),
                "volunteer": string(),
                "version": string("the seekgive release it runs"),
            },
            required=("giver_id", "public_key", "name", "capabilities", "signed_at"),
            description="A Giver as it presents itself, signed with its key.",
        ),
        "Capabilities": capabilities,
        "Giver": all_required(
            {
                "giver_id": string(),
                "name": string(),
                "online": boolean("whether its session is open"),
                "registered_at": number(),
                "last_seen": number(),
                "volunteer": string(),
                "version": string("the seekgive release it runs; empty if it does not say"),
                "capabilities": ref("Capabilities"),
                "failed_contacts": integer(minimum=0),
                "leases": integer(minimum=0, description="tasks it holds"),
                **record,
            },
            "A registered Giver with its record.",
        ),
        "GiverRecord": all_required(
            {"giver_id": string(), **record}, "How a Giver's results fared."
        ),
        "PendingGiver": all_required(
            {
                "giver_id": string(),
                "name": string(),
                "volunteer": string(),
                "public_key": string(),
                "first_seen": number(),
                "last_seen": number(),
                "token_problem": string("why the token it brought did not admit it"),
            },
            "A Giver waiting for an operator's approval.",
        ),
    }


def operations() -> list[Operation]:
    giver_id = path_parameter("giver_id", "the Giver's id (derived from its public key)")
    refused = error("registration_refused: a malformed registration")
    return [
        Operation(
            "POST",
            "/api/v1/givers",
            "registerGiver",
            "Register a Giver",
            TAG,
            {
                200: ok(
                    all_required(
                        {
                            "giver_id": string(),
                            "channel_url": string("where the Giver posts its results"),
                            "seeker_key": string("the key the Seeker signs tasks with"),
                        }
                    ),
                    "admitted",
                ),
                400: refused,
                403: error(
                    "not admitted (yet): registration_pending (it waits for an operator's "
                    "approval), giver_too_old (it runs a release older than the Seeker's "
                    "--min-giver-version), giver_id_taken, or registration_refused (a bad "
                    "signature)"
                ),
            },
            body=json_body(
                obj(
                    {
                        "giver": ref("GiverInfo"),
                        "signature": string("the Giver's signature over giver"),
                        "token": string("an admission token (`seeker token issue`)"),
                    },
                    required=("giver", "signature"),
                    closed=True,
                )
            ),
            public=True,
            description="A Giver proves who it is by signing its info with its key.",
        ),
        Operation(
            "GET",
            "/api/v1/givers/{giver_id}/session",
            "openGiverSession",
            "Open a Giver's session (a WebSocket)",
            TAG,
            {
                101: Response(
                    "the WebSocket: a challenge, the Giver's signed hello, then assign, "
                    "accept or refuse, progress, cancel and done messages both ways"
                ),
                400: error("not a WebSocket upgrade request"),
                404: error("the Giver has not registered (not_found)"),
            },
            (giver_id,),
            public=True,
            description=(
                "A WebSocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`); a "
                "registered Giver then proves its identity inside the session."
            ),
        ),
        Operation(
            "GET",
            "/api/v1/images/{digest}/archive",
            "getImageArchive",
            "Download a catalog image's archive (a Giver's signed request)",
            TAG,
            {
                200: Response(
                    "the image, as `docker save` writes it",
                    {"application/x-tar": string(format="binary")},
                ),
                401: error(
                    "unsigned_request, bad_signature, or stale_signature (signed too far "
                    "from the Seeker's clock)"
                ),
                403: error("the Giver is not admitted (not_admitted)"),
                404: error("not a catalog image (unknown_image), or no archive of it here"),
                500: error("the archive cannot be written to the data dir (archive_error)"),
            },
            (
                path_parameter("digest", "the image's id: sha256: and 64 hex digits"),
                Parameter(GIVER_HEADER, "header", string(), "the Giver's id"),
                Parameter(SIGNED_AT_HEADER, "header", string(), "when it signed, Unix seconds"),
                Parameter(
                    SIGNATURE_HEADER,
                    "header",
                    string(),
                    "its signature over the method, path, time and id",
                ),
            ),
            public=True,
        ),
        Operation(
            "GET",
            "/api/v1/givers",
            "listGivers",
            "List the Givers: registered, flagged, purged lately, pending approval",
            TAG,
            {
                200: ok(
                    all_required(
                        {
                            "givers": array(ref("Giver")),
                            "flagged": array(ref("GiverRecord")),
                            "purged": array(
                                all_required(
                                    {
                                        "giver_id": string(),
                                        "name": string(),
                                        "at": number(),
                                        "reason": string(),
                                    }
                                )
                            ),
                            "pending": array(ref("PendingGiver")),
                        }
                    )
                )
            },
        ),
        Operation(
            "POST",
            "/api/v1/givers/{giver_id}/approve",
            "approveGiver",
            "Admit a Giver that waits for approval",
            TAG,
            {
                200: ok(
                    all_required(
                        {
                            "giver_id": string(),
                            "public_key": string(),
                            "name": string(),
                            "admitted_at": number(),
                            "via": string(),
                            "token_id": string(),
                        }
                    ),
                    "its admission",
                ),
                404: error("the Giver is not waiting for approval (not_pending)"),
            },
            (giver_id,),
        ),
        Operation(
            "POST",
            "/api/v1/givers/{giver_id}/revoke",
            "revokeGiver",
            "Revoke a Giver's admission, take back its tasks and close its session",
            TAG,
            {
                200: ok(
                    all_required(
                        {
                            "giver_id": string(),
                            "admitted": boolean(),
                            "leases": integer(minimum=0, description="tasks taken back"),
                        }
                    )
                ),
                404: error("the Giver is neither admitted nor pending (not_admitted)"),
            },
            (giver_id,),
        ),
        Operation(
            "POST",
            "/api/v1/givers/{giver_id}/unflag",
            "unflagGiver",
            "Clear a flagged Giver: it gets work again",
            TAG,
            {
                200: ok(all_required({"giver_id": string(), "flagged": boolean()})),
                404: error("the Giver is not flagged (not_flagged)"),
            },
            (giver_id,),
        ),
        Operation(
            "POST",
            "/api/v1/givers/{giver_id}/invalidate",
            "invalidateGiver",
            "Discard what a Giver reported since a time; it earns its trust again",
            TAG,
            {
                200: ok(
                    all_required(
                        {
                            "giver_id": string(),
                            "blocks": integer(minimum=0, description="blocks back in the pool"),
                            "leases": integer(minimum=0, description="tasks taken back"),
                        }
                    )
                ),
                400: error("invalid_job: since is not a time"),
            },
            (giver_id,),
            json_body(
                obj({"since": number("epoch seconds; 0 (the default) for ever")}),
            ),
        ),
    ]
