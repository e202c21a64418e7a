"""`seeker submit`: a job from flags, sent as the JSON body the API takes (its keys
file streamed beside it), and followed to its end with `--wait`."""

import argparse
from pathlib import Path
from typing import Any

from channel.errors import WireError
from channel.wire import canonical
from seeker.cli.client import SeekerClient
from seeker.cli.jobs import wait_for_job
from seeker.cli.options import connect
from seeker.errors import SeekerError


def add_commands(commands: Any) -> None:
    submit = commands.add_parser("submit", help="submit a job")
    connect(submit)
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
        "--max-discovered",
        type=int,
        help="with --discover (an error without it): keys added at most (default 10000)",
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
