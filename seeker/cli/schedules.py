"""`seeker schedule`: periodic jobs, from the command line (docs/schedules.md)."""

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from channel.errors import WireError
from channel.wire import canonical
from seeker.cli.client import SeekerClient
from seeker.cli.options import connect
from seeker.errors import SeekerError
from seeker.views.display import DURATION_UNITS_S, duration_s, moment, print_list


def add_commands(commands: Any) -> None:
    """`seeker schedule add|list|show|pause|resume|remove`."""
    schedule = commands.add_parser(
        "schedule", help="periodic jobs: a job made again at every tick of an interval or cron"
    )
    schedule_commands = schedule.add_subparsers(dest="schedule_command", required=True)
    add = schedule_commands.add_parser("add", help="add a schedule and print its id")
    connect(add)
    add.add_argument("name", help="what to call it (unique; commands take it or the id)")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--every",
        type=duration_s,
        metavar="DURATION",
        help="a tick every 90s, 15m, 6h, 1d... from now (at least a minute)",
    )
    when.add_argument(
        "--cron",
        metavar="EXPRESSION",
        help='five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *"',
    )
    add.add_argument(
        "--timezone", metavar="ZONE", help="with --cron: its IANA time zone (default UTC)"
    )
    add.add_argument(
        "--job",
        type=Path,
        required=True,
        metavar="FILE",
        help="the job: the JSON body POST /api/v1/jobs takes, its keys inline, a range, "
        "from_job or from_dataset",
    )
    add.add_argument(
        "--allow-overlap",
        action="store_true",
        help="make a tick's job even while the previous one runs (default: skip the tick)",
    )
    add.add_argument("--keep-runs", type=int, metavar="N", help="runs kept in its history (50)")
    add.add_argument("--paused", action="store_true", help="add it paused")
    add.set_defaults(action=_add_schedule)
    listed = schedule_commands.add_parser("list", help="list schedules")
    connect(listed)
    listed.set_defaults(action=_list_schedules)
    for name, help_text, action in (
        ("show", "show a schedule and its latest runs", _show_schedule),
        ("pause", "fire no tick of a schedule until it is resumed", _steer_schedule),
        ("resume", "fire a schedule from its next tick (none is made up for)", _steer_schedule),
        ("remove", "delete a schedule and its history (its jobs stay)", _steer_schedule),
    ):
        command = schedule_commands.add_parser(name, help=help_text)
        connect(command)
        command.add_argument("schedule", help="its id or name")
        command.set_defaults(action=action, verb=name)


async def _add_schedule(args: argparse.Namespace) -> int:
    if args.timezone and not args.cron:
        raise SeekerError("--timezone goes with --cron")
    try:
        text = await asyncio.to_thread(args.job.read_bytes)
    except OSError as e:
        raise SeekerError(f"cannot read job file {args.job}: {e}") from e
    try:
        job = canonical.loads(text)
    except WireError as e:
        raise SeekerError(f"job file {args.job} is not JSON: {e}") from e
    body: dict[str, Any] = {"name": args.name, "job": job, "paused": args.paused}
    if args.cron:
        body["cron"] = args.cron
        if args.timezone:
            body["timezone"] = args.timezone
    else:
        body["every_s"] = int(args.every) if args.every.is_integer() else args.every
    if args.allow_overlap:
        body["overlap"] = "allow"
    if args.keep_runs is not None:
        body["keep_runs"] = args.keep_runs
    async with SeekerClient(args.seeker, token=args.token) as client:
        schedule = await client.add_schedule(body)
    print(schedule["schedule_id"])
    print(f"schedule {schedule_line(schedule)}", file=sys.stderr)
    return 0


async def _list_schedules(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        schedules = await client.schedules()
    print_list("schedules", schedules, schedule_line)
    return 0


async def _show_schedule(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        schedule = await client.schedule(args.schedule)
    print(schedule_line(schedule))
    print(f"  job: {canonical.dumps(schedule['job']).decode()}")
    print(f"  runs: {len(schedule['runs'])} (the latest {schedule['keep_runs']} are kept)")
    for run in schedule["runs"]:
        print(f"    {run_line(run)}")
    return 0


async def _steer_schedule(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        if args.verb != "remove":
            print(schedule_line(await client.steer_schedule(args.schedule, args.verb)))
            return 0
        schedule = await client.remove_schedule(args.schedule)
    print(f"schedule {schedule['schedule_id']} ({schedule['name']}) removed; its jobs stay")
    return 0


def schedule_line(schedule: dict[str, Any]) -> str:
    """A schedule in one line: when it fires, what is next, what it made last."""
    if "every_s" in schedule:
        when = f"every {duration_text(schedule['every_s'])}"
    else:
        when = f"cron {schedule['cron']!r} ({schedule['timezone']})"
    state = "paused" if schedule["paused"] else f"next {moment(schedule['next_at'])}"
    overlap = ", overlap allowed" if schedule["overlap"] == "allow" else ""
    last = schedule["last_job_id"] or "none yet"
    return (
        f"{schedule['schedule_id']} {schedule['name']!r}: {when}{overlap}; {state}; last job {last}"
    )


def run_line(run: dict[str, Any]) -> str:
    job = f" {run['job_id']}" if run["job_id"] else ""
    reason = f": {run['reason']}" if run["reason"] else ""
    return f"{moment(run['tick'])} {run['outcome']}{job}{reason}"


def duration_text(seconds: int) -> str:
    """Whole seconds in the largest unit they are a whole number of: 6h, 90m, 45s."""
    by_size = sorted(DURATION_UNITS_S.items(), key=lambda item: -item[1])
    unit, unit_s = next((u, u_s) for u, u_s in by_size if seconds % u_s == 0)
    return f"{int(seconds // unit_s)}{unit}"
