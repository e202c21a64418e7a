"""The schedules of periodic jobs in the OpenAPI document (seeker.api.schedules)."""

from seeker.api.openapi.shapes import (
    Operation,
    Schema,
    all_required,
    array,
    boolean,
    error,
    extended,
    integer,
    json_body,
    nullable,
    number,
    obj,
    ok,
    path_parameter,
    ref,
    string,
)
from seeker.schedules.model import (
    MAX_EVERY_S,
    MAX_KEEP_RUNS,
    MAX_NAME_CHARS,
    MIN_EVERY_S,
    Overlap,
    RunOutcome,
)

TAG = "schedules"


def schemas() -> dict[str, Schema]:
    overlap = string(
        enum=[o.value for o in Overlap],
        description="what a tick does while the previous tick's job still runs",
    )
    return {
        "ScheduleRequest": obj(
            {
                "name": string(minLength=1, maxLength=MAX_NAME_CHARS),
                "every_s": integer(minimum=MIN_EVERY_S, maximum=MAX_EVERY_S),
                "cron": string(description="five fields: minute hour day month weekday"),
                "timezone": string(description="an IANA time zone, with cron; default UTC"),
                "job": ref("JobSubmission"),
                "overlap": overlap,
                "keep_runs": integer(minimum=1, maximum=MAX_KEEP_RUNS),
                "paused": boolean(),
            },
            required=("name", "job"),
            closed=True,
            description="A schedule: every_s or cron, exactly one; its job names its keys.",
        ),
        "Schedule": obj(
            {
                "schedule_id": string(),
                "name": string(),
                "job": obj({}, description="the job each tick submits"),
                "created_at": number(),
                "next_at": number("the next tick, epoch seconds"),
                "overlap": overlap,
                "keep_runs": integer(),
                "paused": boolean(),
                "last_job_id": nullable(string()),
                "every_s": integer(),
                "cron": string(),
                "timezone": string(),
            },
            required=(
                "schedule_id",
                "name",
                "job",
                "created_at",
                "next_at",
                "overlap",
                "keep_runs",
                "paused",
                "last_job_id",
            ),
            description="A schedule, with every_s or with cron and timezone.",
        ),
        "Run": all_required(
            {
                "run_id": string(),
                "schedule_id": string(),
                "tick": number(),
                "job_id": nullable(string()),
                "outcome": string(enum=[o.value for o in RunOutcome]),
                "reason": string(),
                "at": number(),
            },
            "What one tick did.",
        ),
    }


def operations() -> list[Operation]:
    ref_parameter = path_parameter("ref", "the schedule's id or name")
    schedule = ok(ref("Schedule"))
    unknown = error("no such schedule (unknown_schedule)")
    return [
        Operation(
            "POST",
            "/api/v1/schedules",
            "addSchedule",
            "Add a schedule of a periodic job",
            TAG,
            {201: ok(ref("Schedule"), "the schedule"), 400: error("invalid_schedule")},
            body=json_body(ref("ScheduleRequest")),
        ),
        Operation(
            "GET",
            "/api/v1/schedules",
            "listSchedules",
            "List the schedules",
            TAG,
            {200: ok(all_required({"schedules": array(ref("Schedule"))}))},
        ),
        Operation(
            "GET",
            "/api/v1/schedules/{ref}",
            "getSchedule",
            "Show a schedule with its runs, latest first",
            TAG,
            {
                200: ok(extended("Schedule", {"runs": array(ref("Run"))})),
                404: unknown,
            },
            (ref_parameter,),
        ),
        Operation(
            "POST",
            "/api/v1/schedules/{ref}/pause",
            "pauseSchedule",
            "Pause a schedule",
            TAG,
            {200: schedule, 404: unknown},
            (ref_parameter,),
        ),
        Operation(
            "POST",
            "/api/v1/schedules/{ref}/resume",
            "resumeSchedule",
            "Resume a schedule from its next tick after now",
            TAG,
            {200: schedule, 404: unknown},
            (ref_parameter,),
        ),
        Operation(
            "DELETE",
            "/api/v1/schedules/{ref}",
            "removeSchedule",
            "Remove a schedule and its runs (the jobs it made stay)",
            TAG,
            {
                200: ok(extended("Schedule", {"removed": boolean()})),
                404: unknown,
            },
            (ref_parameter,),
        ),
    ]
