"""`seeker`: run the Seeker daemon, submit and steer jobs, export results and state."""

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from channel.errors import ChannelError, WireError
from channel.lifecycle import configure_logging, run_until_signal
from channel.wire import canonical, sealing
from seeker.cli.client import SeekerClient, write_whole
from seeker.cli.export import Opener, opened
from seeker.cli.operator import add_operator_commands
from seeker.cli.schedules import add_schedule_commands
from seeker.cli.scrapers import add_scraper_commands
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import ApiError, SeekerError
from seeker.views.display import duration_s, moment, print_list

DEFAULT_SEEKER_URL = "http://127.0.0.1:8765"
WAIT_POLL_S = 0.5
TOKEN_ENV = "SEEKGIVE_TOKEN"
DEFAULT_TOKEN_FILE = Path("seeker-data") / "operator.token"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        args.token = operator_token(os.environ.get(TOKEN_ENV, ""), args.token_file)
        return asyncio.run(args.action(args))
    except BrokenPipeError:
        # The reader went away (`seeker status | head`): nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ApiError as e:
        print(f"seeker: error: {e}", file=sys.stderr)
        if e.status == 401:
            print(
                f"seeker: this command sends the operator token in {TOKEN_ENV}, "
                f"--token-file or {DEFAULT_TOKEN_FILE}",
                file=sys.stderr,
            )
        return 1
    except (SeekerError, ChannelError, OSError) as e:
        print(f"seeker: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def operator_token(from_env: str, token_file: Path | None) -> str:
    """The operator token to send: from the environment, else from `token_file`,
    else from the default Seeker's data dir if it is there; "" for none."""
    if from_env.strip():
        return from_env.strip()
    path = token_file
    if path is None:
        if not DEFAULT_TOKEN_FILE.is_file():
            return ""
        path = DEFAULT_TOKEN_FILE
    try:
        return path.read_text().strip()
    except OSError as e:
        raise SeekerError(f"cannot read the operator token from {path}: {e.strerror}") from e


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seeker", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--seeker",
        default=os.environ.get("SEEKGIVE_SEEKER", DEFAULT_SEEKER_URL),
        help="the Seeker's URL (env SEEKGIVE_SEEKER; default %(default)s)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help=f"a file holding the operator token (or env {TOKEN_ENV}; default "
        f"{DEFAULT_TOKEN_FILE} if it exists, which `seeker run` writes at first start)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the Seeker daemon")
    run.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    run.add_argument("--port", type=int, default=8765, help="port (default %(default)s)")
    run.add_argument(
        "--data-dir",
        type=Path,
        default=Path("seeker-data"),
        help="where the default SQLite stores live (default %(default)s)",
    )
    run.add_argument(
        "--store",
        default="",
        help="results store URL: sqlite:///PATH or "
        "mongodb://HOST/DB (default: a SQLite file in the data dir)",
    )
    run.add_argument(
        "--state",
        default="",
        help="the Seeker's own state store: sqlite:///PATH or mongodb://HOST/DB "
        "(default: a SQLite file in the data dir)",
    )
    run.add_argument(
        "--channel-url",
        default="",
        help="Channel URL Givers post to (default: this Seeker's /channel)",
    )
    run.add_argument(
        "--purge-after",
        type=int,
        default=3,
        metavar="N",
        help="purge a Giver after N failed contacts in a row (default %(default)s)",
    )
    run.add_argument(
        "--lease-grace-s",
        type=float,
        default=60.0,
        help="a lease lapses this long after its task's time limit (default %(default)s)",
    )
    run.add_argument(
        "--leader-lease-s",
        type=float,
        default=15.0,
        help="with Seekers sharing a MongoDB state store: how long the leader's lease "
        "lasts unrenewed, so how soon another takes over (default %(default)s)",
    )
    run.add_argument(
        "--public-url",
        default="",
        help="where others reach this Seeker, for Seekers standing by to name "
        "(default the address it listens on)",
    )
    run.add_argument(
        "--discover",
        action="store_true",
        help="find Givers in LAN mode over mDNS and dial them (listen with --host 0.0.0.0 "
        "or an address they reach, so they can post results)",
    )
    run.add_argument(
        "--discover-interface",
        action="append",
        default=[],
        metavar="IP",
        help="with --discover: browse on the interface with this address only; repeatable "
        "(default all)",
    )
    run.add_argument(
        "--open-registration",
        action="store_true",
        help="admit every Giver that registers, without a token or approval "
        "(for a demo on one machine; never on a network others reach)",
    )
    run.add_argument(
        "--operator-token-file",
        type=Path,
        help="a file holding a fixed operator token (a deployment secret, say), accepted "
        "besides the tokens issued with `seeker operator token issue`",
    )
    run.add_argument(
        "--no-tail-copies",
        dest="tail_copies",
        action="store_false",
        help="never copy a slow Giver's block near the end of a job",
    )
    run.set_defaults(action=_run)

    # --seeker goes before or after the subcommand; after wins.
    url = {"default": argparse.SUPPRESS, "help": "the Seeker's URL (env SEEKGIVE_SEEKER)"}
    submit = commands.add_parser("submit", help="submit a job")
    submit.add_argument("--seeker", **url)
    image = submit.add_mutually_exclusive_group(required=True)
    image.add_argument(
        "--scraper",
        help="a scraper of the catalog (`seeker scrapers list`): its images, its settings "
        "checked against its schema",
    )
    image.add_argument("--image", help="the scraper image, for every Giver")
    image.add_argument(
        "--image-for",
        action="append",
        metavar="ARCH=IMAGE",
        help="the scraper image for Givers of one architecture (amd64, arm64, arm/v7, ...); "
        "repeat for each, instead of --image",
    )
    keys = submit.add_mutually_exclusive_group(required=True)
    keys.add_argument("--keys", nargs="+", metavar="KEY", help="explicit keys")
    keys.add_argument(
        "--keys-file", type=Path, help="a file of keys, one per line (streamed, any size)"
    )
    keys.add_argument(
        "--range",
        action="append",
        metavar="START:STOP",
        help="integer keys START <= k < STOP; repeat for several ranges",
    )
    keys.add_argument(
        "--from-job", metavar="JOB:FIELD", help="the values of FIELD in an earlier job's records"
    )
    keys.add_argument(
        "--from-dataset",
        metavar="NAME:FIELD",
        help="the values of FIELD (a.b: b inside a) in the objects of a Channel dataset",
    )
    submit.add_argument("--block-size", type=int, default=100)
    submit.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a scraper setting; VALUE is read as JSON if it parses",
    )
    submit.add_argument(
        "--network",
        choices=("none", "host", "bridge"),
        help="the tasks' network (default none, or bridge for a catalog scraper that needs one)",
    )
    submit.add_argument(
        "--captures",
        action="store_true",
        help="keep the raw pages scrapers attach to records (read them with export --full)",
    )
    submit.add_argument(
        "--discover",
        action="store_true",
        help="add the keys scrapers discover to the job, each once",
    )
    submit.add_argument(
        "--max-discovered", type=int, help="with --discover: keys added at most (default 10000)"
    )
    submit.add_argument("--timeout-s", type=float, help="wall-clock limit per task")
    submit.add_argument(
        "--output-mib", type=int, help="what a task may write to its output, in MiB (default 32)"
    )
    submit.add_argument("--priority", type=int, help="share of the Givers, 1-1000 (default 10)")
    submit.add_argument(
        "--max-attempts", type=int, help="tries per key before it fails for good (default 3)"
    )
    submit.add_argument(
        "--retry-backoff-s", type=float, help="wait before the first retry, doubling (default 30)"
    )
    submit.add_argument(
        "--retention-days",
        type=float,
        help="the Channel removes each result this many days after it arrives (default never)",
    )
    submit.add_argument("--name", default="")
    needs = submit.add_argument_group("what a Giver must offer")
    needs.add_argument("--min-cpus", type=int, help="CPUs at least")
    needs.add_argument("--min-memory-mib", type=int, help="memory at least, in MiB")
    needs.add_argument("--arch", action="append", help="an architecture (repeat for several)")
    needs.add_argument(
        "--require-label", action="append", metavar="NAME[=VALUE]", help="a label it must have"
    )
    needs.add_argument(
        "--exclude-label", action="append", metavar="NAME[=VALUE]", help="a label it must lack"
    )
    copies = submit.add_argument_group("redundant copies")
    copies.add_argument("--replicas", type=int, help="copies of each block on distinct Givers")
    copies.add_argument("--quorum", type=int, help="copies that must agree (default a majority)")
    copies.add_argument(
        "--choice",
        choices=("majority", "first", "majority_ignoring"),
        help="how a result is chosen among copies (default majority)",
    )
    copies.add_argument(
        "--ignore-field",
        action="append",
        metavar="FIELD",
        help="with --choice majority_ignoring: a record field that may differ",
    )
    copies.add_argument(
        "--adaptive",
        action="store_true",
        help="trusted Givers run blocks alone (with spot checks), others get a second copy",
    )
    submit.add_argument(
        "--recipient",
        metavar="KEY",
        help="seal the records to this public key (from `seeker recipient new`): "
        "only its private key opens them, the Channel cannot",
    )
    submit.add_argument("--wait", action="store_true", help="follow the job until it ends")
    submit.set_defaults(action=_submit)

    status = commands.add_parser("status", help="show jobs, or one job")
    status.add_argument("--seeker", **url)
    status.add_argument("job_id", nargs="?")
    status.set_defaults(action=_status)

    export = commands.add_parser("export", help="write a job's records as JSON lines")
    export.add_argument("--seeker", **url)
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
    failures.add_argument("--seeker", **url)
    failures.add_argument("job_id")
    failures.add_argument(
        "-o", "--output", type=Path, help="- for stdout; default JOB.failures.jsonl"
    )
    failures.set_defaults(
        action=_download, what="failures", suffix=".failures.jsonl", noun="failed keys"
    )

    for name, help_text, action, target in (
        ("pause", "stop leasing a job's blocks (leased ones finish)", _act, "job_id"),
        ("resume", "lease a paused job's blocks again", _act, "job_id"),
        (
            "cancel",
            "end a job: leased tasks are cancelled, pending keys stay undone",
            _act,
            "job_id",
        ),
        (
            "unflag",
            "let a flagged Giver (its results kept being rejected) work again",
            _unflag,
            "giver_id",
        ),
        (
            "approve",
            "admit a Giver that waits for approval (see `seeker status`)",
            _admission,
            "giver_id",
        ),
        (
            "revoke",
            "forget a Giver's admission, take back its tasks and close its session",
            _admission,
            "giver_id",
        ),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--seeker", **url)
        command.add_argument(target)
        command.set_defaults(action=action, verb=name)

    add_scraper_commands(commands, url)

    show_id = commands.add_parser(
        "id", help="print the public key the Seeker signs tasks with, for volunteers to pin"
    )
    show_id.add_argument("--seeker", **url)
    show_id.set_defaults(action=_show_id)

    token = commands.add_parser("token", help="admission tokens that let Givers in")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    issue = token_commands.add_parser("issue", help="issue a token and print it (only now)")
    issue.add_argument("--seeker", **url)
    issue.add_argument("--label", default="", help="what the token is for, shown in the list")
    issue.add_argument(
        "--expires-in",
        type=duration_s,
        metavar="DURATION",
        help="it admits no one after this long: 90s, 30m, 12h, 7d (default never)",
    )
    issue.add_argument(
        "--uses", type=int, metavar="N", help="it admits at most N Givers (default any number)"
    )
    issue.set_defaults(action=_issue_token)
    token_list = token_commands.add_parser("list", help="list tokens and their state")
    token_list.add_argument("--seeker", **url)
    token_list.set_defaults(action=_list_tokens)
    token_revoke = token_commands.add_parser(
        "revoke", help="a token admits no one from now on (Givers it admitted stay)"
    )
    token_revoke.add_argument("--seeker", **url)
    token_revoke.add_argument("token_id")
    token_revoke.set_defaults(action=_revoke_token)

    reader = commands.add_parser(
        "reader", help="reader tokens that let people read jobs and datasets from the Channel"
    )
    reader_commands = reader.add_subparsers(dest="reader_command", required=True)
    reader_issue = reader_commands.add_parser("issue", help="issue a reader token (shown only now)")
    reader_issue.add_argument("--seeker", **url)
    reader_issue.add_argument(
        "--job", action="append", default=[], metavar="JOB", help="a job it may read (* for all)"
    )
    reader_issue.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        help="a dataset it may read (* for all)",
    )
    reader_issue.add_argument(
        "--upload", action="store_true", help="it may upload datasets (and read its own)"
    )
    reader_issue.add_argument("--label", default="", help="who or what it is for")
    reader_issue.add_argument(
        "--expires-in",
        type=duration_s,
        metavar="DURATION",
        help="it reads nothing after this long: 90s, 30m, 12h, 7d (default never)",
    )
    reader_issue.set_defaults(action=_issue_reader)
    reader_list = reader_commands.add_parser("list", help="list reader tokens")
    reader_list.add_argument("--seeker", **url)
    reader_list.set_defaults(action=_list_readers)
    reader_revoke = reader_commands.add_parser("revoke", help="a reader token reads nothing more")
    reader_revoke.add_argument("--seeker", **url)
    reader_revoke.add_argument("token_id")
    reader_revoke.set_defaults(action=_revoke_reader)

    priority = commands.add_parser("priority", help="change a job's share of the Givers")
    priority.add_argument("--seeker", **url)
    priority.add_argument("job_id")
    priority.add_argument("priority", type=int)
    priority.set_defaults(action=_priority)

    invalidate = commands.add_parser(
        "invalidate",
        help="discard what was reported for one block of a job, or by one Giver",
    )
    invalidate.add_argument("--seeker", **url)
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
    dump.add_argument("--seeker", **url)
    dump.add_argument("job_id")
    dump.add_argument("-o", "--output", type=Path, help="- for stdout; default JOB.state.jsonl")
    dump.set_defaults(action=_download, what="state", suffix=".state.jsonl", noun="lines")
    load = state_commands.add_parser("load", help="restore a job from a state file")
    load.add_argument("--seeker", **url)
    load.add_argument("file", type=Path)
    load.set_defaults(action=_load)
    add_schedule_commands(commands, url)
    add_operator_commands(commands, url)
    return parser


async def _run(args: argparse.Namespace) -> int:
    if args.discover_interface and not args.discover:
        raise SeekerError("--discover-interface goes with --discover")
    config = SeekerConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        store_url=args.store,
        state_url=args.state,
        channel_url=args.channel_url,
        purge_after=args.purge_after,
        lease_grace_s=args.lease_grace_s,
        leader_lease_s=args.leader_lease_s,
        public_url=args.public_url,
        tail_copies=args.tail_copies,
        discover=args.discover,
        discover_interfaces=tuple(args.discover_interface),
        open_registration=args.open_registration,
        operator_token=_fixed_token(args.operator_token_file),
    )
    await run_until_signal(Seeker(config))
    return 0


def _fixed_token(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        token = path.read_text().strip()
    except OSError as e:
        raise SeekerError(f"cannot read the operator token from {path}: {e.strerror}") from e
    if not token:
        raise SeekerError(f"{path} holds no operator token")
    return token


def job_body(args: argparse.Namespace) -> dict[str, Any]:
    """The submission body the submit flags describe (keys from a file go beside it)."""
    body: dict[str, Any] = {"block_size": args.block_size, "settings": {}}
    if args.network is not None:
        body["network"] = args.network
    if args.scraper:
        body["scraper"] = args.scraper
    elif args.image_for:
        body["images"] = _images(args.image_for)
    else:
        body["image"] = args.image
    for flag in ("captures", "discover"):
        if getattr(args, flag):
            body[flag] = True
    if args.max_discovered is not None:
        body["max_discovered"] = args.max_discovered
    if args.name:
        body["name"] = args.name
    for name in (
        "priority",
        "max_attempts",
        "retry_backoff_s",
        "retention_days",
        "replicas",
        "quorum",
        "choice",
    ):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.ignore_field:
        body["ignore_fields"] = args.ignore_field
    if args.adaptive:
        body["adaptive"] = True
    if args.recipient:
        body["recipient"] = args.recipient
    requires: dict[str, Any] = {}
    if args.min_cpus is not None:
        requires["min_cpus"] = args.min_cpus
    if args.min_memory_mib is not None:
        requires["min_memory_bytes"] = args.min_memory_mib * 2**20
    for flag, name in (
        ("arch", "arch"),
        ("require_label", "labels"),
        ("exclude_label", "exclude_labels"),
    ):
        if getattr(args, flag):
            requires[name] = getattr(args, flag)
    if requires:
        body["requires"] = requires
    for setting in args.setting:
        name, sep, raw = setting.partition("=")
        if not sep or not name:
            raise SeekerError(f"--setting {setting!r} is not NAME=VALUE")
        try:
            body["settings"][name] = canonical.loads(raw)
        except WireError:
            body["settings"][name] = raw
    if args.range:
        body["ranges"] = [_range(given) for given in args.range]
    elif args.from_job:
        job_id, sep, field = args.from_job.partition(":")
        if not sep or not job_id or not field:
            raise SeekerError(f"--from-job {args.from_job!r} is not JOB:FIELD")
        body["from_job"] = {"job_id": job_id, "field": field}
    elif args.from_dataset:
        name, sep, field = args.from_dataset.partition(":")
        if not sep or not name or not field:
            raise SeekerError(f"--from-dataset {args.from_dataset!r} is not NAME:FIELD")
        body["from_dataset"] = {"dataset": name, "field": field}
    elif args.keys:
        body["keys"] = args.keys
    limits: dict[str, Any] = {}
    if args.timeout_s is not None:
        limits["timeout_s"] = args.timeout_s
    if args.output_mib is not None:
        limits["output_bytes"] = args.output_mib * 2**20
    if limits:
        body["limits"] = limits
    return body


def _images(given: list[str]) -> dict[str, str]:
    """--image-for ARCH=IMAGE items as the job's images; the Seeker checks the names."""
    images: dict[str, str] = {}
    for item in given:
        arch, sep, image = item.partition("=")
        arch, image = arch.strip(), image.strip()
        if not sep or not arch or not image:
            raise SeekerError(f"--image-for {item!r} is not ARCH=IMAGE")
        if arch in images:
            raise SeekerError(f"--image-for names {arch} twice")
        images[arch] = image
    return images


def _range(given: str) -> list[int]:
    start, sep, stop = given.partition(":")
    try:
        bounds = [int(start), int(stop)]
    except ValueError:
        bounds = []
    if not sep or not bounds:
        raise SeekerError(f"--range {given!r} is not START:STOP")
    if not all(-(2**63) <= bound < 2**63 for bound in bounds):
        raise SeekerError(f"--range {given!r} must lie within 64-bit integers")
    return bounds


async def _submit(args: argparse.Namespace) -> int:
    body = job_body(args)
    async with SeekerClient(args.seeker, token=args.token) as client:
        job = await client.submit(body, args.keys_file)
        print(job["job_id"])
        if not args.wait:
            return 0
        job = await wait_for_job(client, job["job_id"], echo=True)
    if job["keys"]["failed"] or job["status"] != "done":
        print(f"see `seeker status {job['job_id']}` and `seeker failures {job['job_id']}`")
        return 2
    return 0


async def wait_for_job(client: SeekerClient, job_id: str, *, echo: bool) -> dict[str, Any]:
    """Poll until the job is done or cancelled; with `echo`, print each change of its
    progress."""
    last = ""
    while True:
        job = await client.job(job_id)
        line = progress_line(job)
        if echo and line != last:
            print(line, flush=True)
            last = line
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


async def _unflag(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        await client.unflag(args.giver_id)
    print(f"giver {args.giver_id} may work again")
    return 0


async def _admission(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        if args.verb == "approve":
            await client.approve(args.giver_id)
            print(f"giver {args.giver_id} admitted")
            return 0
        answer = await client.revoke(args.giver_id)
    print(f"giver {args.giver_id} revoked; {answer['leases']} lease(s) taken back")
    return 0


async def _show_id(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        identity = await client.identity()
    print(f"seeker key: {identity['seeker_key']}")
    print(f"volunteers pin it with: giver run --seeker-key {identity['seeker_key']} ...")
    return 0


async def _issue_token(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"label": args.label}
    if args.expires_in is not None:
        body["expires_in_s"] = args.expires_in
    if args.uses is not None:
        body["uses"] = args.uses
    async with SeekerClient(args.seeker, token=args.token) as client:
        issued = await client.issue_token(body)
    print(issued["token"])
    print(
        f"token {issued['token_id']}: shown only now; Givers use it with "
        "`giver run --token TOKEN` (or SEEKGIVE_GIVER_TOKEN)",
        file=sys.stderr,
    )
    return 0


def token_line(token: dict[str, Any]) -> str:
    created, expires = moment(token["created_at"]), moment(token["expires_at"])
    uses = f"{token['uses']}/{token['max_uses']}" if token["max_uses"] else str(token["uses"])
    label = f" {token['label']!r}" if token["label"] else ""
    return (
        f"{token['token_id']} {token['state']}{label}: "
        f"created {created}, expires {expires}, {uses} use(s)"
    )


async def _list_tokens(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        tokens = await client.tokens()
    print_list("tokens", tokens, token_line)
    return 0


async def _issue_reader(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "label": args.label,
        "jobs": args.job,
        "datasets": args.dataset,
        "upload": args.upload,
    }
    if args.expires_in is not None:
        body["expires_in_s"] = args.expires_in
    async with SeekerClient(args.seeker, token=args.token) as client:
        issued = await client.issue_reader(body)
    print(issued["token"])
    print(
        f"reader {issued['token_id']}: shown only now; send it to the Channel as "
        "`Authorization: Bearer TOKEN`",
        file=sys.stderr,
    )
    return 0


def reader_line(reader: dict[str, Any]) -> str:
    created, expires = moment(reader["created_at"]), moment(reader["expires_at"])
    expired = reader["expires_at"] is not None and reader["expires_at"] <= time.time()
    state = "revoked" if reader["revoked"] else "expired" if expired else "valid"
    label = f" {reader['label']!r}" if reader["label"] else ""
    scope = [f"job {j}" for j in reader["jobs"]] + [f"dataset {d}" for d in reader["datasets"]]
    if reader["upload"]:
        scope.append("upload")
    return (
        f"{reader['token_id']} {state}{label}: {', '.join(scope)}; "
        f"created {created}, expires {expires}"
    )


async def _list_readers(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        readers = await client.readers()
    print_list("readers", readers, reader_line)
    return 0


async def _revoke_reader(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        print(reader_line(await client.revoke_reader(args.token_id)))
    return 0


async def _revoke_token(args: argparse.Namespace) -> int:
    async with SeekerClient(args.seeker, token=args.token) as client:
        print(token_line(await client.revoke_token(args.token_id)))
    return 0
