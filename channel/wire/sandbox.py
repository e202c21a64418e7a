"""What a task's container gets (contract v1, images/CONTRACT.md), written once:
the Giver creates containers so (giver.sandbox.docker_runner), and `seeker replay`
prints the `docker run` line (`sandbox_flags`, `mounts`) that makes the same
container on a scraper author's machine.

The container reads `/input/task.json` (`task_input`) and writes to
`/output`; its root is read-only but a small tmpfs at /tmp, it has no
capabilities, no new privileges and never runs as root, under the task's
limits, with no network of its own but the egress gateway's socket when its
task needs one, or the host's network when its task asks and the volunteer
allows it.
"""

from typing import Any

from channel.wire.models import CONTRACT_VERSION, Limits, Task

INPUT_DIR = "/input"
OUTPUT_DIR = "/output"
TASK_FILE = "task.json"
TMPFS = {"/tmp": "rw,noexec,nosuid,nodev,size=64m"}
CAP_DROP = ("ALL",)
SECURITY_OPT = ("no-new-privileges",)
FALLBACK_USER = "65534:65534"
CONTRACT_ENV = "SEEKGIVE_CONTRACT"
# Where a task's way out (the egress gateway's socket) appears inside its container.
EGRESS_DIR = "/egress"
EGRESS_ENV = "SEEKGIVE_EGRESS"
EGRESS_SOCKET = "proxy.sock"


def task_input(task: Task) -> dict[str, Any]:
    """`/input/task.json`: the task's ids, settings and keys, and whether its job
    keeps captures or takes discovered keys."""
    return {
        "contract": CONTRACT_VERSION,
        "task_id": task.task_id,
        "job_id": task.job_id,
        "settings": task.settings,
        **task.block.to_wire(),
        **({"captures": True} if task.captures else {}),
        **({"discover": True} if task.discover else {}),
    }


def container_user(image_user: str | None) -> str:
    """The image's own numeric non-zero uid (and gid), else nobody (65534).

    A user name is not trusted: it could map to uid 0 inside the image.
    """
    uid, _, gid = (image_user or "").strip().partition(":")
    if uid.isdigit() and int(uid) != 0 and (not gid or gid.isdigit()):
        return f"{int(uid)}:{int(gid) if gid else int(uid)}"
    return FALLBACK_USER


def environment(egress: bool) -> dict[str, str]:
    """The container's environment: the contract, and its way out if it has one."""
    env = {CONTRACT_ENV: str(CONTRACT_VERSION)}
    if egress:
        env[EGRESS_ENV] = f"{EGRESS_DIR}/{EGRESS_SOCKET}"
    return env


def sandbox_flags(limits: Limits, network: str, user: str) -> list[str]:
    """The `docker run` flags confining a task's container as a Giver confines it:
    read-only root, no privileges, `user`, `limits`, and no network but the
    host's for a task whose `network` is "host"."""
    return [
        "--read-only",
        *(f"--tmpfs={path}:{options}" for path, options in TMPFS.items()),
        *(f"--cap-drop={cap}" for cap in CAP_DROP),
        *(f"--security-opt={option}" for option in SECURITY_OPT),
        f"--user={user}",
        f"--memory={limits.memory_bytes}",
        f"--memory-swap={limits.memory_bytes}",
        f"--cpus={limits.cpus:g}",
        f"--pids-limit={limits.pids}",
        f"--ulimit=fsize={limits.output_bytes}:{limits.output_bytes}",
        f"--network={'host' if network == 'host' else 'none'}",
    ]


def mounts(input_dir: str, output_dir: str, egress_dir: str | None = None) -> list[str]:
    """The `docker run` flags giving a container its input, its output and, with
    `egress_dir` (a directory holding an egress gateway's socket), its way out."""
    flags = [f"--volume={input_dir}:{INPUT_DIR}:ro", f"--volume={output_dir}:{OUTPUT_DIR}:rw"]
    if egress_dir is not None:
        flags.append(f"--volume={egress_dir}:{EGRESS_DIR}:ro")
    flags += [
        f"--env={name}={value}" for name, value in environment(egress_dir is not None).items()
    ]
    return flags
