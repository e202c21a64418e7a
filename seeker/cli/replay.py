"""`seeker replay JOB KEY [--dir DIR]`: run a failed key again on this machine.

It writes into DIR what the key's container got and what came back:

- `input/task.json`, the task input as the container read it, to the byte;
- `output/`, empty, for the container to write to;
- `log.txt`, the container's log as its Giver sent it with the failure;
- `replay.json`, the job, key, task, Giver, reason, image (reference and id),
  settings, network and limits;

then prints the `docker run` line that runs the same image in the same
sandbox over DIR (stdout), with notes on what it needs (stderr). A job that
reaches the network through Givers' egress gateway gets one here too, served
by scripts/egress_door.py from a seekgive checkout. DIR is written whole or
not at all, and must not hold anything yet.
"""

import argparse
import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from channel.wire import canonical, sandbox
from channel.wire.models import Limits
from seeker.cli.client import SeekerClient
from seeker.cli.options import connect
from seeker.errors import SeekerError

REPLAY_FILE = "replay.json"
LOG_FILE = "log.txt"
# Where the egress gateway's door is named, for a job whose network is "bridge".
GATEWAY_DIR = "gateway"
DOOR_FILE = "door"
INSPECT_TIMEOUT_S = 10.0


def add_commands(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="write what a failed key's container got, and print the docker run line that "
        "runs it again here",
    )
    connect(replay)
    replay.add_argument("job_id")
    replay.add_argument("key", help="the failed key, as `seeker failures JOB` lists it")
    replay.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="the directory to write; it must not exist or be empty (default replay-JOB-KEY)",
    )
    replay.set_defaults(action=_replay)


def default_dir(job_id: str, key: str) -> Path:
    """replay-JOB-KEY, the key's characters that are unsafe in a file name as `_`."""
    return Path(f"replay-{job_id}-{re.sub(r'[^A-Za-z0-9._-]', '_', key)[:64]}")


async def _replay(args: argparse.Namespace) -> int:
    target = (args.dir or default_dir(args.job_id, args.key)).absolute()
    _check_free(target)
    async with SeekerClient(args.seeker, token=args.token) as client:
        replay = await client.replay(args.job_id, args.key)
    await asyncio.to_thread(write_replay, target, replay)
    image = replay["image_id"] or replay["image"]
    user = await asyncio.to_thread(image_user, image)
    print(f"wrote {target}: the input, log and settings of key {args.key!r}", file=sys.stderr)
    for note in notes(replay, user):
        print(f"# {note}", file=sys.stderr)
    print(command(replay, target, user or sandbox.FALLBACK_USER))
    return 0


def _check_free(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise SeekerError(f"{target} exists and is not empty; give another --dir or remove it")


def write_replay(target: Path, replay: dict[str, Any]) -> None:
    """Write the replay directory beside `target`, then move it there whole."""
    _check_free(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        input_dir, output_dir = staging / "input", staging / "output"
        input_dir.mkdir()
        output_dir.mkdir()
        task_file = input_dir / sandbox.TASK_FILE
        task_file.write_bytes(canonical.dumps(replay["task"]))
        (staging / LOG_FILE).write_text(replay["log"])
        facts = {name: value for name, value in replay.items() if name not in ("task", "log")}
        (staging / REPLAY_FILE).write_bytes(canonical.dumps(facts) + b"\n")
        # As a Giver leaves them: the container's user reads the input, writes the output.
        os.chmod(task_file, 0o644)
        os.chmod(input_dir, 0o755)
        os.chmod(output_dir, 0o777)
        os.chmod(staging, 0o755)
        if target.is_dir():
            target.rmdir()
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def image_user(image: str) -> str | None:
    """The user the image's container runs as under a Giver, asking the local Docker
    Engine for the image's USER; None if it cannot tell (no docker, no such image)."""
    try:
        inspected = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Config.User}}", image],
            capture_output=True,
            text=True,
            timeout=INSPECT_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if inspected.returncode != 0:
        return None
    return sandbox.container_user(inspected.stdout.strip())


def command(replay: dict[str, Any], target: Path, user: str) -> str:
    """The shell lines that run the key's image over `target` as a Giver ran it."""
    limits = Limits.from_wire(replay["limits"])
    image = replay["image_id"] or replay["image"]
    flags = sandbox.sandbox_flags(limits, replay["network"], user)
    volumes = sandbox.mounts(str(target / "input"), str(target / "output"))
    if replay["network"] != "bridge":
        return shlex.join(["docker", "run", "--rm", *flags, *volumes, image])
    # The door's directory is known once the gateway runs: the shell reads it then.
    egress = sandbox.mounts(str(target / "input"), str(target / "output"), "DOOR")
    line = shlex.join(["docker", "run", "--rm", *flags, *egress, image])
    gateway, quoted_door = target / GATEWAY_DIR, shlex.quote(str(target / DOOR_FILE))
    return "\n".join(
        (
            f"python scripts/egress_door.py {shlex.quote(str(gateway))} > {quoted_door} &",
            f"until [ -s {quoted_door} ]; do sleep 0.2; done",
            line.replace("--volume=DOOR:", f'--volume="$(cat {quoted_door})":'),
        )
    )


def notes(replay: dict[str, Any], user: str | None) -> list[str]:
    """What the printed line needs, and where it differs from the Giver's run."""
    said = [
        f"the key failed on giver {replay['giver_id']} in task {replay['task_id']}: "
        f"{replay['reason']}",
        f"the image that ran: {replay['image'] or ' or '.join(replay['images'])}"
        + (f" (id {replay['image_id']}); the line runs it by id" if replay["image_id"] else ""),
    ]
    if user is None:
        said.append(
            f"the image is not here to ask for its USER: the line runs it as "
            f"{sandbox.FALLBACK_USER}, as a Giver does unless the image names a numeric user"
        )
    if replay["network"] == "bridge":
        said.append(
            "the job reaches the network through the Giver's egress gateway: the lines serve "
            "one from a seekgive checkout (scripts/egress_door.py; --allow-local HOST:PORT for "
            "a site on this machine); or drop the /egress volume and give --network=bridge"
        )
    if replay["network"] == "host":
        said.append("the job shares the host's network, as it did on its Giver")
    return said
