"""`seeker status|export|failures|pause|resume|cancel|delete|priority|invalidate|
state|recipient`: following and steering jobs, and writing what they return."""

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from channel.wire import sealing
from seeker.cli.client import SeekerClient, write_whole
from seeker.cli.export import Opener, opened
from seeker.cli.options import connect
from seeker.errors import SeekerError

WAIT_POLL_S = 0.5


def add_commands(commands: Any) -> None:
    status = commands.add_parser("status", help="show jobs, or one job")
    connect(status)
    status.add_argument("job_id", nargs="?")
    status.set_defaults(action=_status)

    export = commands.add_parser("export", help="write a job's records as JSON lines")
    connect(export)
    export.add_argument("job_id")
    export.add_argument(
        "-o", "--output", type=Path, help="file to write, - for stdout (default JOB.jsonl)"
    )
    export.add_argument(
        "--key",
        type=Path,
        metavar="FILE",
        help="the recipient's private key file: sealed records are opened here with it",
    )
    export.add_argument(
        "--full", action="store_true", help="with the raw pages (debug captures) records carry"
    )
    export.set_defaults(action=_export, suffix=".jsonl", noun="records")

    recipient = commands.add_parser(
        "recipient", help="key pairs a job's records are sealed to (submit --recipient)"
    )
    recipient_commands = recipient.add_subparsers(dest="recipient_command", required=True)
    new_recipient = recipient_commands.add_parser(
        "new", help="write a new private key to a file (mode 0600) and print its public key"
    )
    new_recipient.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the private key file to create"
    )
    new_recipient.set_defaults(action=_new_recipient)

    failures = commands.add_parser(
        "failures", help="write the keys of a job that failed for good, with reasons"
    )
    connect(failures)
    failures.add_argument("job_id")
    failures.add_argument(
        "-o", "--output", type=Path, help="- for stdout; default JOB.failures.jsonl"
    )
    failures.set_defaults(
        action=_download, what="failures", suffix=".failures.jsonl", noun="failed keys"
    )
    for name, help_text in (
        ("pause", "stop leasing a job's blocks (leased ones finish)"),
        ("resume", "lease a paused job's blocks again"),
        ("cancel", "end a job: leased tasks are cancelled, pending keys stay undone"),
    ):
        command = commands.add_parser(name, help=help_text)
        connect(command)
        command.add_argument("job_id")
        command.set_defaults(action=_act, verb=name)

    delete = commands.add_parser(
        "delete",
        help="delete a done or cancelled job, and its results in the Channel unless its "
        "retention keeps them",
    )
    connect(delete)
    delete.add_argument("job_id")
    delete.set_defaults(action=_delete)

    priority = commands.add_parser("priority", help="change a job's share of the Givers")
    connect(priority)
    priority.add_argument("job_id")
    priority.add_argument("priority", type=int)
    priority.set_defaults(action=_priority)

    invalidate = commands.add_parser(
        "invalidate",
        help="discard what was reported for one block of a job, or by one Giver",
    )
    connect(invalidate)
    target = invalidate.add_mutually_exclusive_group(required=True)
    target.add_argument("--block", metavar="JOB:SEQ", help="one block of a job")
    target.add_argument("--giver", metavar="GIVER_ID", help="everything one Giver reported")
    invalidate.add_argument(
        "--since",
        metavar="TIME",
        help="with --giver: only since TIME (ISO 8601, or seconds since the epoch)",
    )
    invalidate.set_defaults(action=_invalidate)

    state = commands.add_parser("state", help="write a job's whole state to a file, or restore it")
    state_commands = state.add_subparsers(dest="state_command", required=True)
    dump = state_commands.add_parser("dump", help="write a job's state as JSON lines")
    connect(dump)
    dump.add_argument("job_id")
    dump.add_argument("-o", "--output", type=Path, help="- for stdout; default JOB.state.jsonl")
    dump.set_defaults(action=_download, what="state", suffix=".state.jsonl", noun="lines")
    load = state_commands.add_parser("load", help="restore a job from a state file")
    connect(load)
    load.add_argument("file", type=Path)
    load.set_defaults(action=_load)


async def wait_for_job(client: SeekerClient, job_id: str, *, echo: bool) -> dict[str, Any]:
    """Poll until the job is done or cancelled; with `echo`, print each change of its
    progress, and of why it waits (no Giver can take it)."""
    last, last_waiting = "", ""
    while True:
        job = await client.job(job_id)
        line, waiting = progress_line(job), waiting_line(job)
        if echo and line != last:
            print(line, flush=True)
            last = line
        if echo and waiting and waiting != last_waiting:
            print(waiting, flush=True)
        last_waiting = waiting
        if job["status"] in ("done", "cancelled"):
            return job
        await asyncio.sleep(WAIT_POLL_S)


def progress_line(job: dict[str, Any]) -> str:
    keys = job["keys"]
    name = f" ({job['name']})" if job.get("name") else ""
    return (
        f"{job['job_id']}{name} {job['status']}: {keys['done']}/{keys['total']} done, "
        f"{keys['failed']} failed, {keys['leased']} leased, {keys['pending']} pending"
    )


def waiting_line(job: dict[str, Any]) -> str:
    """Why no Giver takes the job's blocks now, as a line under its progress; ""
    when nothing holds it up."""
    return f"  waiting: {job['waiting']}" if job.get("waiting") else ""


async def _status(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        if args.job_id:
            job = await client.job(args.job_id)
            print(progress_line(job))
            dropped = [
                f"{job[name]} {what}"
                for name, what in (
                    ("duplicates_dropped", "duplicate keys dropped"),
                    ("unusable_values", "values unusable as keys"),
                )
                if job[name]
            ]
            if dropped:
                print(f"  {', '.join(dropped)}")
            if waiting := waiting_line(job):
                print(waiting)
            if "discovered" in job:
                most = job["spec"]["max_discovered"]
                print(f"  {job['discovered']} keys discovered (at most {most})")
            for refusal in job.get("refusals", ()):
                print(
                    f"  refused by giver {refusal['giver_id']} "
                    f"(task {refusal['task_id']}): {refusal['reason']}"
                )
            for failure in job["failures"]:
                print(f"  failed {failure['key']!r}: {failure['reason']}")
            if job["keys"]["failed"] > len(job["failures"]):
                print(
                    f"  (the last {len(job['failures'])} of {job['keys']['failed']} failed keys; "
                    f"`seeker failures {job['job_id']}` writes them all)"
                )
            return 0
        answer = await client.givers()
        givers = answer["givers"]
        online = sum(g["online"] for g in givers)
        print(f"givers: {online} online of {len(givers)} registered")
        for giver in givers:
            seen = time.strftime("%H:%M:%S", time.localtime(giver["last_seen"]))
            state = "online" if giver["online"] else "offline"
            flag = f"; FLAGGED: {giver['flagged']}" if giver["flagged"] else ""
            print(
                f"  {giver['giver_id']} {giver['name']} {state} (last seen {seen}; "
                f"reliability {giver['reliability']:.0%}, {giver['leases']} lease(s){flag})"
            )
        if answer["pending"]:
            print(f"waiting for approval: {len(answer['pending'])} (`seeker approve GIVER`)")
        for pending in answer["pending"]:
            problem = f"; {pending['token_problem']}" if pending["token_problem"] else ""
            volunteer = f" of {pending['volunteer']}" if pending["volunteer"] else ""
            print(f"  {pending['giver_id']} {pending['name']}{volunteer}{problem}")
        jobs = await client.jobs()
        print(f"jobs: {len(jobs)}")
        for job in jobs:
            print(f"  {progress_line(job)}")
    return 0


async def _download(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        await _write(args, client.chunks(f"{args.job_id}/{args.what}"))
    return 0


async def _export(args: argparse.Namespace) -> int:
    """A job's records; sealed ones opened with `--key`, or passed on as they are."""
    key = await asyncio.to_thread(sealing.load_private_key, args.key) if args.key else None
    opener = Opener(args.job_id, key)
    async with SeekerClient(args.seeker, token=args.token) as client:
        what = f"{args.job_id}/records" + ("?full=1" if args.full else "")
        await _write(args, opened(client.chunks(what), opener))
    if opener.sealed_left:
        print(
            f"seeker: warning: {opener.sealed_left} record(s) are sealed and were written "
            "as they are; open them with --key FILE (the recipient's private key)",
            file=sys.stderr,
        )
    return 0


async def _write(args: argparse.Namespace, chunks: AsyncIterator[bytes]) -> None:
    """Write `chunks` to stdout (`-o -`), or whole to a file and say so."""
    if args.output == Path("-"):
        async for chunk in chunks:
            await asyncio.to_thread(sys.stdout.buffer.write, chunk)
        await asyncio.to_thread(sys.stdout.flush)
        return
    path = args.output or Path(f"{args.job_id}{args.suffix}")
    count = await write_whole(chunks, path)
    print(f"{count} {args.noun} written to {path}")


async def _new_recipient(args: argparse.Namespace) -> int:
    public = await asyncio.to_thread(sealing.create_recipient, args.out)
    print(public)
    print(
        f"private key written to {args.out} (mode 0600): keep it, only it opens the records; "
        f"seal a job's records with `seeker submit --recipient {public} ...`",
        file=sys.stderr,
    )
    return 0


async def _act(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        print(progress_line(await client.act(args.job_id, args.verb)))
    return 0


async def _delete(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        job = await client.delete_job(args.job_id)
    kept = " (its results stay in the Channel until its retention ends)"
    print(f"{job['job_id']} deleted{kept if job['spec'].get('retention_days') else ''}")
    return 0


async def _priority(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        job = await client.act(args.job_id, "priority", {"priority": args.priority})
    print(f"{job['job_id']} priority {job['priority']}")
    return 0


async def _invalidate(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        if args.block:
            if args.since:
                raise SeekerError("--since goes with --giver, not --block")
            job_id, sep, seq = args.block.partition(":")
            if not sep or not seq.isdigit():
                raise SeekerError(f"--block {args.block!r} is not JOB:SEQ")
            print(progress_line(await client.act(job_id, f"blocks/{seq}/invalidate")))
            return 0
        answer = await client.invalidate_giver(args.giver, _time(args.since) if args.since else 0)
    print(
        f"giver {args.giver}: {answer['blocks']} block(s) back in the pool, "
        f"{answer['leases']} lease(s) taken back"
    )
    return 0


def _time(given: str) -> float:
    try:
        return float(given)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(given).timestamp()
    except ValueError:
        raise SeekerError(f"--since {given!r} is neither ISO 8601 nor seconds") from None


async def _load(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        job = await client.load_state(args.file)
    print(progress_line(job))
    return 0
