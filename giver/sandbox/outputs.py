"""What a scraper left in its output directory (contract v1), judged without trust.

`records.jsonl` holds `{"key": str, "data": object}` lines (with a `capture`
when the job keeps them), `status.jsonl` holds `{"key": str, "ok": bool,
"reason": str|null}` lines, `discovered.jsonl` holds `{"key": str, "found":
[str]}` lines and `progress.json` holds `{"done": int, "total": int}`
(images/CONTRACT.md). Captures and found keys a job did not ask for are
dropped; found keys of a key not reported ok are too. A malformed line
makes the whole output untrusted (`UntrustedOutput`); a last line without its
newline is a write cut short by a crash or a kill, and is ignored. Files are
opened without following links and directories walked through descriptors,
since the container controls them; a walk stops at MAX_OUTPUT_ENTRIES entries
or MAX_OUTPUT_DEPTH levels, so no output costs the Giver more than that to judge.
"""

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from channel.errors import WireError
from channel.wire import canonical
from channel.wire.models import KeyBlock, Task
from channel.wire.results import KeyOutcome, check_capture
from giver.errors import GarbageOutput

RECORDS_FILE = "records.jsonl"
STATUS_FILE = "status.jsonl"
DISCOVERED_FILE = "discovered.jsonl"
PROGRESS_FILE = "progress.json"
# Found keys kept of one task, and their size in UTF-8: the rest are dropped.
MAX_DISCOVERED = 10_000
MAX_FOUND_KEY_BYTES = 2048
# Half the Channel's default result limit, leaving room for the signed envelope.
MAX_OUTPUT_BYTES = 32 * 1024 * 1024
MAX_PROGRESS_BYTES = 4096
MAX_OUTPUT_ENTRIES = 10_000
MAX_OUTPUT_DEPTH = 16
INVALID_TASK_EXIT_CODE = 2
NO_STATUS_REASON = "no status reported by the scraper"


@dataclass(frozen=True, slots=True)
class ContainerExit:
    """How a task's container ended, the last lines it wrote to stderr, and its
    whole log (stdout and stderr, cut as a Result carries it).

    `overflow` says why it was killed for what it wrote to its output directory.
    """

    exit_code: int
    timed_out: bool = False
    oom_killed: bool = False
    overflow: str | None = None
    stderr_tail: tuple[str, ...] = ()
    log: str = ""


@dataclass(frozen=True, slots=True)
class ScraperOutput:
    """Records, one outcome per key of the task, why the task failed if it did,
    the new keys its scraper found, and its container's log if a key failed."""

    records: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[KeyOutcome] = field(default_factory=list)
    error: str | None = None
    discovered: tuple[str, ...] = ()
    log: str = ""


@dataclass(frozen=True, slots=True)
class UntrustedOutput:
    """Output that breaks the contract: none of it counts, and the task is invalidated."""

    reason: str


def collect(
    output_dir: Path, task: Task, run: ContainerExit, *, max_bytes: int = MAX_OUTPUT_BYTES
) -> ScraperOutput | UntrustedOutput:
    """The output of `task`'s run, with an error if the run failed; or, if a line
    is malformed or the output exceeds `max_bytes`, why it cannot be trusted.

    Lines completed before a crash or a timeout are kept, so keys done by then
    count even though the task failed; garbage discards everything. Output that
    broke its limits is not read: every key fails with the reason.
    """
    if run.overflow is not None:
        return ScraperOutput(
            outcomes=[KeyOutcome(key, False, run.overflow) for key in task.block],
            error=run.overflow,
            log=run.log,
        )
    error = run_error(run, task)
    try:
        records, outcomes = read_output(output_dir, task.block, max_bytes=max_bytes)
        ok = {outcome.key for outcome in outcomes if outcome.ok}
        found = read_discovered(output_dir, ok, max_bytes) if task.discover else ()
    except GarbageOutput as e:
        return UntrustedOutput("; ".join(filter(None, (error, str(e)))))
    if not task.captures:
        records = [{"key": r["key"], "data": r["data"]} for r in records]
    # Only a failed key is replayed (seeker replay): a run all ok keeps its log.
    failed = error is not None or not all(outcome.ok for outcome in outcomes)
    return ScraperOutput(records, outcomes, error, found, run.log if failed else "")


def run_error(run: ContainerExit, task: Task) -> str | None:
    """Why the run failed as a whole, or None if the container exited with 0."""
    if run.timed_out:
        return f"timed out after {task.limits.timeout_s:g} s"
    if run.oom_killed:
        return (
            f"scraper was killed for exceeding its memory limit of {task.limits.memory_bytes} bytes"
        )
    if run.exit_code != 0:
        # Exit 2 is an invalid task: the SDK says why first, then lists the settings.
        # Otherwise the last line says most (a traceback ends with the exception).
        lines = run.stderr_tail
        line = (lines[0] if run.exit_code == INVALID_TASK_EXIT_CODE else lines[-1]) if lines else ""
        return f"scraper exited with code {run.exit_code}" + (f": {line}" if line else "")
    return None


def read_output(
    output_dir: Path, block: KeyBlock, *, max_bytes: int = MAX_OUTPUT_BYTES
) -> tuple[list[dict[str, Any]], list[KeyOutcome]]:
    """Records of the keys reported ok, and an outcome for every key of `block`.

    A key's last status line is its outcome; a key without one failed.
    Status lines and records of keys outside `block` are ignored.

    Raises GarbageOutput when a line is malformed, the output exceeds `max_bytes` or
    it holds too many entries or levels (see output_size).
    """
    size = output_size(output_dir)
    if size > max_bytes:
        raise GarbageOutput(
            f"{size} bytes of output exceed the limit of {max_bytes} bytes", file="output"
        )
    reported: dict[str, KeyOutcome | None] = dict.fromkeys(block)
    status = _read_regular(output_dir / STATUS_FILE, max_bytes) or b""
    for number, line in _lines(status):
        outcome = _parse_status(line, number)
        if outcome.key in reported:
            reported[outcome.key] = outcome
    records_data = _read_regular(output_dir / RECORDS_FILE, max_bytes) or b""
    records = [_parse_record(line, number) for number, line in _lines(records_data)]
    outcomes = [
        outcome or KeyOutcome(key, False, NO_STATUS_REASON) for key, outcome in reported.items()
    ]
    ok = {outcome.key for outcome in outcomes if outcome.ok}
    return [record for record in records if record["key"] in ok], outcomes


def read_discovered(output_dir: Path, ok: set[str], max_bytes: int) -> tuple[str, ...]:
    """The keys found while scraping the keys in `ok`, each once, in the order found;
    at most MAX_DISCOVERED, and none that is empty or over MAX_FOUND_KEY_BYTES.

    Raises GarbageOutput when a line is malformed.
    """
    data = _read_regular(output_dir / DISCOVERED_FILE, max_bytes) or b""
    found: dict[str, None] = {}
    for number, line in _lines(data):
        value = _parse_object(line, number, DISCOVERED_FILE)
        key, keys = value.get("key"), value.get("found")
        if not isinstance(key, str):
            raise GarbageOutput("key must be a string", file=DISCOVERED_FILE, line=number)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise GarbageOutput(
                "found must be a list of strings", file=DISCOVERED_FILE, line=number
            )
        if key not in ok:
            continue
        for new in keys:
            if new and len(new.encode()) <= MAX_FOUND_KEY_BYTES:
                found[new] = None
                if len(found) == MAX_DISCOVERED:
                    return tuple(found)
    return tuple(found)


def read_progress(output_dir: Path) -> tuple[int, int] | None:
    """`(done, total)` from progress.json, or None while it is absent or malformed."""
    try:
        data = _read_regular(output_dir / PROGRESS_FILE, MAX_PROGRESS_BYTES)
        progress = canonical.loads(data) if data else None
    except (GarbageOutput, WireError):
        return None
    if not isinstance(progress, dict):
        return None
    done, total = progress.get("done"), progress.get("total")
    if not (_count(done) and _count(total)):
        return None
    return done, total


def _count(n: object) -> TypeGuard[int]:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def output_overflow(output_dir: Path, max_bytes: int) -> str | None:
    """Why `output_dir` breaks the limits of a running task's output, or None."""
    try:
        size = output_size(output_dir)
    except GarbageOutput as e:
        return str(e)
    if size > max_bytes:
        return f"output exceeded {bytes_text(max_bytes)}"
    return None


def output_size(output_dir: Path) -> int:
    """Bytes in every file (and link) under `output_dir`, links not followed.

    Raises GarbageOutput past MAX_OUTPUT_ENTRIES entries or MAX_OUTPUT_DEPTH
    levels, or when an entry cannot be looked at.
    """
    try:
        fd = os.open(output_dir, _DIRECTORY_FLAGS)
        try:
            return _size_under(fd, 1, 0)[0]
        finally:
            os.close(fd)
    except OSError as e:
        raise GarbageOutput(f"cannot be read ({e.strerror})", file="output") from e


def remove_tree(path: Path) -> None:
    """Remove `path` and everything under it, however deep, without following links.

    For a task's directory once its container is gone (a running container could
    move directories while the walk climbs back through `..`). Raises OSError.
    """
    try:
        fd = os.open(path, _DIRECTORY_FLAGS)
    except FileNotFoundError:
        return
    # The subdirectories still to remove at each level above the current one.
    above: list[list[str]] = []
    try:
        pending = _remove_files(fd)
        while pending or above:
            if pending:
                child = os.open(pending[-1], _DIRECTORY_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                above.append(pending)
                pending = _remove_files(fd)
                continue
            parent = os.open("..", _DIRECTORY_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            pending = above.pop()
            os.rmdir(pending.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _remove_files(fd: int) -> list[str]:
    """Unlink everything but subdirectories in the directory open as `fd`; name those."""
    directories = []
    with os.scandir(fd) as listing:
        for entry in listing:
            if entry.is_dir(follow_symlinks=False):
                directories.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    return directories


def bytes_text(n: int) -> str:
    """`n` bytes for people: in MiB when a whole number of them."""
    return f"{n // 2**20} MiB" if n and n % 2**20 == 0 else f"{n} bytes"


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _size_under(fd: int, depth: int, entries: int) -> tuple[int, int]:
    """Bytes under the directory open as `fd` (at `depth`), and the entries counted so
    far including those. Entries are looked up through descriptors, never by path."""
    size = 0
    with os.scandir(fd) as listing:
        for entry in listing:
            entries += 1
            if entries > MAX_OUTPUT_ENTRIES:
                raise GarbageOutput(f"more than {MAX_OUTPUT_ENTRIES} entries", file="output")
            try:
                info = entry.stat(follow_symlinks=False)
                if not stat.S_ISDIR(info.st_mode):
                    size += info.st_size
                    continue
                if depth >= MAX_OUTPUT_DEPTH:
                    raise GarbageOutput(
                        f"directories nested deeper than {MAX_OUTPUT_DEPTH}", file="output"
                    )
                child = os.open(entry.name, _DIRECTORY_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                continue  # removed meanwhile by the container, which may still run
            try:
                below, entries = _size_under(child, depth + 1, entries)
            finally:
                os.close(child)
            size += below
    return size, entries


def _read_regular(path: Path, max_bytes: int) -> bytes | None:
    """Up to `max_bytes` of `path`; None if it does not exist. Links and FIFOs are refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise GarbageOutput(f"cannot be opened ({e.strerror})", file=path.name) from e
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise GarbageOutput("is not a regular file", file=path.name)
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise GarbageOutput(f"is larger than {max_bytes} bytes", file=path.name)
    return data


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Numbered non-blank lines that end with a newline (a last line without one is cut short)."""
    lines = data.split(b"\n")
    lines.pop()
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield number, line


def _parse_record(line: bytes, number: int) -> dict[str, Any]:
    value = _parse_object(line, number, RECORDS_FILE)
    if not isinstance(value.get("key"), str):
        raise GarbageOutput("key must be a string", file=RECORDS_FILE, line=number)
    if not isinstance(value.get("data"), dict):
        raise GarbageOutput("data must be an object", file=RECORDS_FILE, line=number)
    record = {"key": value["key"], "data": value["data"]}
    if "capture" in value:
        try:
            check_capture(value, "record")
        except WireError as e:
            raise GarbageOutput(str(e), file=RECORDS_FILE, line=number) from e
        record["capture"] = value["capture"]
    return record


def _parse_status(line: bytes, number: int) -> KeyOutcome:
    value = _parse_object(line, number, STATUS_FILE)
    key, ok, reason = value.get("key"), value.get("ok"), value.get("reason")
    if not isinstance(key, str):
        raise GarbageOutput("key must be a string", file=STATUS_FILE, line=number)
    if not isinstance(ok, bool):
        raise GarbageOutput("ok must be true or false", file=STATUS_FILE, line=number)
    if reason is not None and not isinstance(reason, str):
        raise GarbageOutput("reason must be a string or null", file=STATUS_FILE, line=number)
    return KeyOutcome(key, ok, reason)


def _parse_object(line: bytes, number: int, file: str) -> dict[str, Any]:
    try:
        value = canonical.loads(line)
    except WireError as e:
        raise GarbageOutput(str(e), file=file, line=number) from e
    if not isinstance(value, dict):
        raise GarbageOutput("not a JSON object", file=file, line=number)
    return value
