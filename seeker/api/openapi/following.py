"""Following the grid in the OpenAPI document: the overview, a job's blocks, its
disagreements, its records page by page and what replaying a failed key takes
(seeker.api.overview,
seeker.api.job_detail), and the diagnostics of every connected service
(seeker.views.health)."""

from seeker.api.openapi.shapes import (
    Operation,
    Parameter,
    Schema,
    all_required,
    array,
    boolean,
    error,
    integer,
    mapping,
    nullable,
    number,
    obj,
    ok,
    page_size,
    path_parameter,
    string,
)
from seeker.views.paging import DEFAULT_LIMIT, MAX_LIMIT

TAG = "following"
_COUNTS = mapping(integer(minimum=0), "a count by state or status")


def _page(items: str, item: Schema, next_cursor: Schema, **more: Schema) -> Schema:
    return all_required(
        {"job_id": string(), items: array(item), "next": next_cursor, **more},
    )


def _block() -> Schema:
    return obj(
        {
            "block_id": string(),
            "seq": integer(minimum=0),
            "state": string("pending, leased, done or failed"),
            "keys": obj({"count": integer(minimum=0)}, description="how many keys, and which"),
            "tally": _COUNTS,
            "attempts": integer(minimum=0),
            "leases": array(obj({}), "its tasks out now: Giver, role, deadline, progress"),
            "runs": array(obj({}), "the tasks that reported: Giver, role, digests"),
        },
        description="A block of a job, its leases and the Givers that ran it.",
    )


def _disagreement() -> Schema:
    return obj(
        {"block_id": string(), "seq": integer(minimum=0)},
        description="A block whose copies disagreed: each Giver's digest, the choice.",
    )


def _replay() -> Schema:
    return all_required(
        {
            "job_id": string(),
            "key": string(),
            "block_id": string(),
            "task_id": string("the task whose run failed the key"),
            "result_id": string("its result in the Channel"),
            "giver_id": string("the Giver that ran it"),
            "at": number("when its result came in"),
            "reason": string("why the key failed"),
            "image": string("the image reference the task ran ('' if the job's images vary)"),
            "images": array(string(), "the images the Giver may have run"),
            "image_id": string("the id (sha256:...) of the image that ran"),
            "settings": obj({}, description="the job's settings"),
            "network": string("none, bridge (through the egress gateway) or host"),
            "limits": obj({}, description="the limits the container ran under"),
            "task": obj({}, description="/input/task.json as the container got it"),
            "log": string("the container's log (stdout and stderr), cut to 128 KiB"),
        },
        "A failed key of a job, and what its container got.",
    )


def _check() -> Schema:
    return all_required(
        {
            "name": string(),
            "kind": string("state_store, channel, channel_service or docker_engine"),
            "ok": boolean(),
            "latency_ms": nullable(number(minimum=0)),
            "error": nullable(string()),
        }
    )


def operations() -> list[Operation]:
    job_id = path_parameter("job_id", "the job's id (`j` and 12 hex digits)")
    limit = page_size(MAX_LIMIT, DEFAULT_LIMIT)
    block_after = Parameter(
        "after",
        "query",
        integer(minimum=0),
        "the `next` of the page before: the seq the page goes on after",
        required=False,
    )
    bad_query = error("a query parameter is malformed (invalid_query, bad_cursor)")
    unknown_job = error("no such job (unknown_job)")
    return [
        Operation(
            "GET",
            "/api/v1/overview",
            "getOverview",
            "The grid at a glance: Givers, jobs, keys, rate, latest errors",
            TAG,
            {
                200: ok(
                    obj(
                        {
                            "at": number(),
                            "givers": _COUNTS,
                            "jobs": _COUNTS,
                            "keys": _COUNTS,
                            "rate_keys_per_s": number(minimum=0),
                            "errors": obj({}),
                        },
                        required=("givers", "jobs", "keys", "rate_keys_per_s", "errors"),
                    )
                )
            },
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}/blocks",
            "listJobBlocks",
            "A page of a job's blocks, with their leases and the Givers that ran them",
            TAG,
            {
                200: ok(_page("blocks", _block(), nullable(integer(minimum=0)))),
                400: bad_query,
                404: unknown_job,
            },
            (job_id, block_after, limit),
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}/blocks/{seq}",
            "getJobBlock",
            "One block of a job",
            TAG,
            {
                200: ok(_block()),
                404: error("no such job (unknown_job) or block (unknown_block)"),
            },
            (job_id, path_parameter("seq", "the block's number in the job, from 0")),
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}/disagreements",
            "listJobDisagreements",
            "A page of a job's blocks whose copies disagreed",
            TAG,
            {
                200: ok(_page("disagreements", _disagreement(), nullable(integer(minimum=0)))),
                400: bad_query,
                404: unknown_job,
            },
            (job_id, block_after, limit),
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}/results",
            "listJobResults",
            "A page of the records a job's Givers stored, every copy included",
            TAG,
            {
                200: ok(
                    _page(
                        "records",
                        obj({}, description="a record with its key, Giver and task"),
                        string("the cursor of the next page"),
                        more=boolean("whether the job may hold more records now"),
                    )
                ),
                400: bad_query,
                404: unknown_job,
            },
            (
                job_id,
                Parameter(
                    "after",
                    "query",
                    string(pattern=r"^\d{1,18}(:\d{1,18})?$"),
                    "the `next` of the page before (SEQ or SEQ:COUNT)",
                    required=False,
                ),
                limit,
            ),
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}/replay",
            "getKeyReplay",
            "What replaying a failed key takes: its task input, image, settings and log",
            TAG,
            {
                200: ok(_replay()),
                400: bad_query,
                404: error("no such job (unknown_job), or no block holds the key (unknown_key)"),
                409: error("the key has not failed, or no log came back (not_replayable)"),
            },
            (job_id, Parameter("key", "query", string(minLength=1), "the failed key")),
        ),
        Operation(
            "GET",
            "/api/v1/diagnostics",
            "getDiagnostics",
            "Check every connected service: stores, the Channel, each Docker Engine",
            TAG,
            {
                200: ok(
                    all_required(
                        {"ok": boolean("whether every check passed"), "checks": array(_check())}
                    ),
                    "the checks, each with its latency or its error",
                )
            },
        ),
    ]
