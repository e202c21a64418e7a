"""The jobs of the OpenAPI document: submitting, following, steering, exporting,
dumping and loading jobs (seeker.api.jobs)."""

from channel.wire.models import NETWORK_MODES
from channel.wire.platforms import PLATFORM_ARCHES
from seeker.api.openapi.shapes import (
    JSON,
    NDJSON,
    Body,
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
    page_size,
    path_parameter,
    ref,
    streamed,
    string,
)
from seeker.views.paging import DEFAULT_LIMIT, MAX_LIMIT
from seeker.work.choice import Choice
from seeker.work.jobs import JobStatus
from seeker.work.sources import MAX_KEY, MIN_KEY
from seeker.work.spec import (
    MAX_ATTEMPTS,
    MAX_BLOCK_SIZE,
    MAX_DISCOVERED,
    MAX_EXTRA_COPIES,
    MAX_PRIORITY,
    MAX_REPLICAS,
    MAX_RETENTION_DAYS,
)

TAG = "jobs"
_ARCHES = ", ".join(PLATFORM_ARCHES)


def _positive_integer() -> Schema:
    return integer(exclusiveMinimum=0)


def _positive_number() -> Schema:
    return number(exclusiveMinimum=0)


def _range() -> Schema:
    return array(
        integer(minimum=MIN_KEY, maximum=MAX_KEY),
        "the integers start <= key < stop, as [start, stop)",
        minItems=2,
        maxItems=2,
    )


def schemas() -> dict[str, Schema]:
    return {
        "JobSubmission": _submission(),
        "Limits": obj(
            {
                "memory_bytes": _positive_integer(),
                "cpus": _positive_number(),
                "pids": _positive_integer(),
                "timeout_s": _positive_number(),
                "output_bytes": _positive_integer(),
            },
            closed=True,
            description="What each task's container may use; unnamed ones keep their default.",
        ),
        "Requirements": obj(
            {
                "min_cpus": integer(minimum=0),
                "min_memory_bytes": integer(minimum=0),
                "arch": {
                    "oneOf": [string(minLength=1), array(string(minLength=1))],
                    "description": f"an architecture or a list of them ({_ARCHES})",
                },
                "labels": array(string(), "NAME or NAME=VALUE the Giver must have"),
                "exclude_labels": array(string(), "NAME or NAME=VALUE the Giver must not have"),
            },
            closed=True,
            description="What a Giver must offer to run the job's blocks.",
        ),
        "Job": _job_view(),
    }


def _submission() -> Schema:
    """A job as POST /jobs takes it (seeker.work.spec.parse_job); exactly one of `image`,
    `images` and `scraper`, and one key source unless the keys come as a file."""
    return obj(
        {
            "image": string(minLength=1, description="the scraper image every Giver runs"),
            "images": mapping(string(minLength=1), f"an image for each architecture ({_ARCHES})"),
            "scraper": string(minLength=1, description="a scraper of the catalog, by name"),
            "settings": obj({}, description="the scraper's settings"),
            "keys": array(
                string(minLength=1, description="a key: at most 2048 bytes of UTF-8"),
                minItems=1,
            ),
            "range": _range(),
            "ranges": array(_range(), minItems=1),
            "from_job": obj(
                {"job_id": string(minLength=1), "field": string(minLength=1)},
                required=("job_id", "field"),
                closed=True,
                description="keys from a field of an earlier job's records",
            ),
            "from_dataset": obj(
                {"dataset": string(minLength=1), "field": string(minLength=1)},
                required=("dataset", "field"),
                closed=True,
                description="keys from a field (a.b reaches inside a) of a Channel dataset",
            ),
            "block_size": integer(minimum=1, maximum=MAX_BLOCK_SIZE),
            "network": string(enum=list(NETWORK_MODES)),
            "limits": ref("Limits"),
            "name": string(),
            "priority": integer(minimum=1, maximum=MAX_PRIORITY),
            "max_attempts": integer(minimum=1, maximum=MAX_ATTEMPTS),
            "retry_backoff_s": number(minimum=0),
            "requires": ref("Requirements"),
            "replicas": integer(minimum=1, maximum=MAX_REPLICAS),
            "quorum": integer(minimum=1, maximum=MAX_REPLICAS),
            "choice": string(enum=[c.value for c in Choice]),
            "ignore_fields": array(string(minLength=1), "with choice majority_ignoring"),
            "max_extra_copies": integer(minimum=0, maximum=MAX_EXTRA_COPIES),
            "adaptive": {
                "oneOf": [
                    boolean(),
                    obj(
                        {
                            "trust_after": integer(minimum=1),
                            "spot_check": number(minimum=0, maximum=1),
                        },
                        closed=True,
                    ),
                ]
            },
            "retention_days": nullable(number(exclusiveMinimum=0, maximum=MAX_RETENTION_DAYS)),
            "recipient": string(
                description="an X25519 public key (base64) the records are sealed to"
            ),
            "captures": boolean("keep the raw pages scrapers attach to records"),
            "discover": boolean("add the keys scrapers discover to the job"),
            "max_discovered": integer(
                minimum=1,
                maximum=MAX_DISCOVERED,
                description="keys discover adds at most; refused without discover",
            ),
        },
        closed=True,
        description=(
            "A job: exactly one of image, images and scraper; exactly one key source "
            "(keys, range, ranges, from_job, from_dataset) unless the keys come as a file."
        ),
    )


def _job_view() -> Schema:
    counts = all_required(
        {name: integer(minimum=0) for name in ("total", "done", "failed", "leased", "pending")},
        "keys by state; they add up to total",
    )
    failure = all_required({"block_id": string(), "key": string(), "reason": string()})
    view = all_required(
        {
            "job_id": string(),
            "name": string(),
            "image": string("the image, or the images by architecture"),
            "status": string(enum=[s.value for s in JobStatus]),
            "priority": integer(),
            "created_at": number("epoch seconds"),
            "finished_at": nullable(number("epoch seconds")),
            "keys": counts,
            "blocks": integer(minimum=0),
            "duplicates_dropped": integer(minimum=0),
            "unusable_values": integer(minimum=0),
            "spec": obj({}, description="the job as submitted, its key source described"),
            "failures": array(failure, "the latest keys that failed for good"),
            "leased_progress": integer(minimum=0),
        },
        "A job as the Seeker shows it.",
    )
    view["properties"] |= {
        "discovered": integer(minimum=0, description="keys its scrapers discovered"),
        "waiting": string("why no Giver takes its blocks now"),
        "refusals": array(
            all_required(
                {"giver_id": string(), "task_id": string(), "reason": string(), "at": number()}
            ),
            "Givers that refused its tasks lately",
        ),
    }
    return view


def operations() -> list[Operation]:
    job_id = path_parameter("job_id", "the job's id (`j` and 12 hex digits)")
    job_view = ok(ref("Job"), "the job as it is now")
    unknown_job = error("no such job (unknown_job)")
    conflict = error("the job's state does not allow it (job_conflict)")
    return [
        Operation(
            "POST",
            "/api/v1/jobs",
            "submitJob",
            "Submit a job",
            TAG,
            {201: ok(ref("Job"), "the job, created"), 400: error("invalid_job")},
            body=Body(
                {
                    JSON: ref("JobSubmission"),
                    "multipart/form-data": obj(
                        {
                            "job": string(description="the job, as JSON, with no key source"),
                            "keys": string(
                                format="binary", description="one key per line, any size"
                            ),
                        },
                        required=("job", "keys"),
                    ),
                },
                "A job as JSON, or as multipart: a `job` part, then a `keys` part.",
            ),
        ),
        Operation(
            "GET",
            "/api/v1/jobs",
            "listJobs",
            "List the jobs, a page at a time, newest first",
            TAG,
            {
                200: ok(all_required({"jobs": array(ref("Job")), "next": nullable(string())})),
                400: error("a query parameter is malformed (invalid_query, bad_cursor)"),
            },
            (
                Parameter(
                    "after",
                    "query",
                    string(),
                    "the `next` of the page before: the job the page goes on after",
                    required=False,
                ),
                page_size(MAX_LIMIT, DEFAULT_LIMIT),
            ),
        ),
        Operation(
            "POST",
            "/api/v1/jobs/state",
            "loadJob",
            "Load a job from its state dump",
            TAG,
            {
                201: ok(ref("Job"), "the job, loaded"),
                400: error("the state file is malformed (invalid_state), or was cut off"),
                409: error("a job of that id is here already (job_conflict)"),
            },
            body=Body(
                {NDJSON: string(description="what GET /jobs/{job_id}/state gave")},
                json_read=False,
            ),
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}",
            "getJob",
            "Show a job",
            TAG,
            {200: job_view, 404: unknown_job},
            (job_id,),
        ),
        Operation(
            "DELETE",
            "/api/v1/jobs/{job_id}",
            "deleteJob",
            "Delete a done or cancelled job, its blocks, and its results in the Channel "
            "unless its retention keeps them",
            TAG,
            {200: ok(ref("Job"), "the job as it was"), 404: unknown_job, 409: conflict},
            (job_id,),
        ),
        *(
            Operation(
                "POST",
                f"/api/v1/jobs/{{job_id}}/{action}",
                f"{action}Job",
                summary,
                TAG,
                {200: job_view, 404: unknown_job, 409: conflict},
                (job_id,),
            )
            for action, summary in (
                ("pause", "Pause a job"),
                ("resume", "Resume a paused job"),
                ("cancel", "Cancel a job and stop its leased tasks"),
            )
        ),
        Operation(
            "POST",
            "/api/v1/jobs/{job_id}/priority",
            "setJobPriority",
            "Change a job's priority",
            TAG,
            {200: job_view, 400: error("invalid_job"), 404: unknown_job},
            (job_id,),
            json_body(
                obj(
                    {"priority": integer(minimum=1, maximum=MAX_PRIORITY)},
                    required=("priority",),
                )
            ),
        ),
        Operation(
            "POST",
            "/api/v1/jobs/{job_id}/blocks/{seq}/invalidate",
            "invalidateBlock",
            "Discard what was reported for a block; its keys go back to the pool",
            TAG,
            {200: job_view, 404: error("no such job (unknown_job) or block (unknown_block)")},
            (job_id, path_parameter("seq", "the block's number in the job, from 0")),
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}/records",
            "getJobRecords",
            "Export the records of a job's counted results",
            TAG,
            {
                200: Response(
                    "the records as a download: one JSON object a line, or CSV",
                    {
                        NDJSON: string(description="one JSON value a line"),
                        "text/csv": string(description="a header row, then a row a record"),
                    },
                ),
                400: error("a bad format, or full=1 with CSV (invalid_query)"),
                404: unknown_job,
                409: error(
                    "results counted for the job are not in this Seeker's Channel but in "
                    "another it was counted in, which the message names (results_elsewhere)"
                ),
            },
            (
                job_id,
                Parameter(
                    "format",
                    "query",
                    string(enum=["jsonl", "csv"], default="jsonl"),
                    "JSON lines, or CSV",
                    required=False,
                ),
                Parameter(
                    "full",
                    "query",
                    string(enum=["0", "1"], default="0"),
                    "1 keeps each record's debug capture (JSON lines only)",
                    required=False,
                ),
                Parameter(
                    "fields",
                    "query",
                    string(),
                    "the CSV's columns, comma-separated (default: every field the records use)",
                    required=False,
                ),
            ),
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}/failures",
            "getJobFailures",
            "List every key of a job that failed for good, and why",
            TAG,
            {200: streamed('one {"block_id", "key", "reason"} a line'), 404: unknown_job},
            (job_id,),
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{job_id}/state",
            "dumpJob",
            "Dump a job's state, to load it into another Seeker",
            TAG,
            {200: streamed("a header line, one line per block, an end line"), 404: unknown_job},
            (job_id,),
        ),
    ]
