"""Attack the sandbox as settings["mode"] says, following contract v1 otherwise.

What an attack finds is reported as records of the task's first key, each
`{"probe": ..., "result": ...}` where result is what came back or the error;
attacks that only end when the Giver stops them report nothing.

forkbomb: fork until refused; memhog: fill memory; write_outside: open files
for writing all over the filesystem; escalate: look for and try every way to
root; fill_output: write file after file into /output, each until refused;
many_files: create empty files in /output; deep: nest directories in /output;
network: list the interfaces and routes, resolve settings["name"], and connect to
each of settings["targets"] ([host, port]) directly and, if the task has an
egress gateway, ask the gateway for a tunnel to it;
sleep: outlive the timeout; tmp_fill: write file after file into /tmp.
"""

import ctypes
import errno
import itertools
import json
import os
import socket
import subprocess
import sys
import time

CHUNK = b"x" * (1024 * 1024)
WRITE_PROBES = (
    "/hostile",
    "/etc/hostile",
    "/usr/hostile",
    "/input/hostile",
    "/input/task.json",
    "/output/../hostile",
    "/proc/sys/kernel/hostname",
    "/sys/fs/cgroup/pids.max",
    "/output/hostile",
    "/tmp/hostile",
)

task = json.load(open("/input/task.json"))
keys = task["keys"] if "keys" in task else [str(k) for k in range(*task["range"])]
settings = task["settings"]


def attempt(action, *args) -> str:
    """'ok' if `action(*args)` worked, else the error it raised."""
    try:
        action(*args)
    except OSError as e:
        return e.strerror or str(e)
    return "ok"


def open_for_writing(path: str) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))


def mount_tmpfs() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def escalate() -> list[tuple[str, object]]:
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    open_for_writing("/output/chown-probe")
    suid = subprocess.run(["/opt/hostile/suid-id", "-u"], capture_output=True, text=True)
    return [
        ("uid", os.getuid()),
        ("gid", os.getgid()),
        ("euid", os.geteuid()),
        *((name, status[name].strip()) for name in ("CapEff", "CapBnd", "NoNewPrivs")),
        ("setuid(0)", attempt(os.setuid, 0)),
        ("setuid binary euid", int(suid.stdout)),
        ("mount", attempt(mount_tmpfs)),
        ("chown", attempt(os.chown, "/output/chown-probe", 0, 0)),
        ("write /etc/passwd", attempt(open_for_writing, "/etc/passwd")),
    ]


def write_files(prefix: str) -> list[tuple[str, object]]:
    """Write files `prefix-0`, `prefix-1`, ... each until a write is refused, on to the
    next while the refusal is the file size limit; how much was written, and why it stopped."""
    written = 0
    for n in itertools.count():
        with open(f"{prefix}-{n}", "wb", buffering=0) as f:
            try:
                while True:
                    written += f.write(CHUNK)
            except OSError as e:
                print(
                    f"hostile: {f.name} stopped at {f.tell()} bytes: {e.strerror}", file=sys.stderr
                )
                if e.errno != errno.EFBIG:
                    return [("bytes written", written), ("error", e.strerror)]


def fork_bomb() -> list[tuple[str, object]]:
    for forked in itertools.count():
        try:
            if os.fork() == 0:
                time.sleep(3600)
                os._exit(0)
        except OSError as e:
            return [("forked", forked), ("error", e.strerror)]


def network() -> list[tuple[str, object]]:
    targets = [(host, port) for host, port in settings["targets"]]
    interfaces = [line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]]
    # The interface of every route but the container's own loopback's.
    routes = [line.split()[0] for line in open("/proc/net/route").readlines()[1:]]
    routes += [line.split()[-1] for line in open("/proc/net/ipv6_route")]
    routes = [interface for interface in routes if interface != "lo"]
    found: list[tuple[str, object]] = [
        ("interfaces", interfaces),
        ("routes", routes),
        ("resolve", attempt(socket.getaddrinfo, settings["name"], 80)),
    ]
    for host, port in targets:
        found.append((f"connect {host}:{port}", attempt(connect, host, port)))
        if "SEEKGIVE_EGRESS" in os.environ:
            authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            found.append((f"gateway {host}:{port}", ask_gateway(authority)))
    return found


def connect(host: str, port: int) -> None:
    socket.create_connection((host, port), timeout=3).close()


def ask_gateway(target: str) -> str:
    """The gateway's status line for a tunnel to `target`."""
    gateway = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    gateway.connect(os.environ["SEEKGIVE_EGRESS"])
    gateway.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    answer = gateway.recv(4096).decode(errors="replace")
    gateway.close()
    return answer.split("\r\n", 1)[0]


def forever(step) -> None:
    while True:
        step()


def report(findings: list[tuple[str, object]]) -> None:
    with open("/output/records.jsonl", "w") as records:
        for probe, result in findings:
            records.write(
                json.dumps({"key": keys[0], "data": {"probe": probe, "result": result}}) + "\n"
            )
    with open("/output/status.jsonl", "w") as status:
        for key in keys:
            status.write(json.dumps({"key": key, "ok": True, "reason": None}) + "\n")


mode = settings["mode"]
print(f"hostile: {mode}", file=sys.stderr)
if mode == "forkbomb":
    report(fork_bomb())
elif mode == "memhog":
    hoard = []
    forever(lambda: hoard.append(CHUNK * 16))
elif mode == "write_outside":
    report([(path, attempt(open_for_writing, path)) for path in WRITE_PROBES])
elif mode == "escalate":
    report(escalate())
elif mode == "fill_output":
    write_files("/output/blob")
elif mode == "many_files":
    numbers = itertools.count()
    forever(lambda: open_for_writing(f"/output/empty-{next(numbers)}"))
elif mode == "deep":
    os.chdir("/output")
    forever(lambda: (os.mkdir("d"), os.chdir("d")))
elif mode == "network":
    report(network())
elif mode == "sleep":
    time.sleep(3600)
elif mode == "tmp_fill":
    report(write_files("/tmp/fill"))
else:
    sys.exit(f"hostile: unknown mode {mode!r}")
