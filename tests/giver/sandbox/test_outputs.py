"""Judging a scraper's output directory (contract v1) without trusting it."""

import json
import os
from pathlib import Path

import pytest

from channel.wire.models import KeyBlock, Limits, Task
from channel.wire.results import KeyOutcome
from giver.errors import GarbageOutput
from giver.sandbox.outputs import (
    MAX_OUTPUT_DEPTH,
    MAX_OUTPUT_ENTRIES,
    NO_STATUS_REASON,
    ContainerExit,
    ScraperOutput,
    UntrustedOutput,
    collect,
    output_overflow,
    output_size,
    read_progress,
    remove_tree,
)

pytestmark = pytest.mark.unit

CLEAN = ContainerExit(exit_code=0)


def make_task(block: KeyBlock | None = None, timeout_s: float = 30.0) -> Task:
    return Task(
        task_id="t1",
        job_id="j1",
        image="img",
        settings={},
        block=block or KeyBlock(keys=("a", "b", "c")),
        limits=Limits(timeout_s=timeout_s),
    )


def write_lines(path: Path, *lines: object, tail: str = "") -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + tail)


def record(key: str, **data: object) -> dict:
    return {"key": key, "data": data}


def status(key: str, ok: bool = True, reason: str | None = None) -> dict:
    return {"key": key, "ok": ok, "reason": reason}


def test_records_and_outcomes_in_task_order(tmp_path: Path) -> None:
    write_lines(tmp_path / "records.jsonl", record("b", n=2), record("a", n=1), record("a", n=3))
    write_lines(
        tmp_path / "status.jsonl", status("b"), status("a"), status("c", False, "not found")
    )
    output = collect(tmp_path, make_task(), CLEAN)
    assert output.error is None
    assert output.records == [record("b", n=2), record("a", n=1), record("a", n=3)]
    assert output.outcomes == [
        KeyOutcome("a", True),
        KeyOutcome("b", True),
        KeyOutcome("c", False, "not found"),
    ]


def test_keys_without_status_fail(tmp_path: Path) -> None:
    write_lines(tmp_path / "records.jsonl", record("a"), record("b"))
    write_lines(tmp_path / "status.jsonl", status("a"))
    output = collect(tmp_path, make_task(), CLEAN)
    assert output.error is None
    assert output.records == [record("a")]  # b's records are not complete without a status
    assert output.outcomes == [
        KeyOutcome("a", True),
        KeyOutcome("b", False, NO_STATUS_REASON),
        KeyOutcome("c", False, NO_STATUS_REASON),
    ]


def test_empty_output_fails_every_key(tmp_path: Path) -> None:
    output = collect(tmp_path, make_task(), CLEAN)
    assert output.error is None
    assert output.records == []
    assert [o.reason for o in output.outcomes] == [NO_STATUS_REASON] * 3


def test_status_of_keys_outside_the_task_is_ignored(tmp_path: Path) -> None:
    write_lines(tmp_path / "records.jsonl", record("zz"), record("a"))
    write_lines(tmp_path / "status.jsonl", status("zz"), status("a"), status("b"), status("c"))
    output = collect(tmp_path, make_task(), CLEAN)
    assert output.records == [record("a")]
    assert [o.key for o in output.outcomes] == ["a", "b", "c"]


def test_range_block_keys_are_decimal_strings(tmp_path: Path) -> None:
    write_lines(tmp_path / "status.jsonl", status("5"), status("6", False, "gone"))
    output = collect(tmp_path, make_task(KeyBlock(start=5, stop=8)), CLEAN)
    assert output.outcomes == [
        KeyOutcome("5", True),
        KeyOutcome("6", False, "gone"),
        KeyOutcome("7", False, NO_STATUS_REASON),
    ]


def test_last_status_of_a_key_wins(tmp_path: Path) -> None:
    write_lines(tmp_path / "status.jsonl", status("a", False, "flaky"), status("a"))
    assert collect(tmp_path, make_task(), CLEAN).outcomes[0] == KeyOutcome("a", True)


def test_blank_lines_are_skipped_and_a_cut_last_line_ignored(tmp_path: Path) -> None:
    (tmp_path / "status.jsonl").write_text(
        '\n{"key": "a", "ok": true, "reason": null}\n\n{"key": "b", "ok": true, "reason": null}'
    )
    output = collect(tmp_path, make_task(), CLEAN)
    assert output.error is None
    assert [o.ok for o in output.outcomes] == [True, False, False]


def test_records_of_failed_keys_are_discarded(tmp_path: Path) -> None:
    write_lines(tmp_path / "records.jsonl", record("a", n=1), record("b", n=2))
    write_lines(tmp_path / "status.jsonl", status("a"), status("b", False, "half a page"))
    output = collect(tmp_path, make_task(), CLEAN)
    assert output.records == [record("a", n=1)]
    assert output.outcomes[1] == KeyOutcome("b", False, "half a page")


@pytest.mark.parametrize(
    ("file", "lines", "error"),
    [
        ("records.jsonl", ["not json"], "records.jsonl line 1: not valid JSON"),
        ("records.jsonl", [record("a"), ["a", {}]], "records.jsonl line 2: not a JSON object"),
        ("records.jsonl", [{"key": 1, "data": {}}], "records.jsonl line 1: key must be a string"),
        (
            "records.jsonl",
            [{"key": "a", "data": [1]}],
            "records.jsonl line 1: data must be an object",
        ),
        ("records.jsonl", [{"key": "a"}], "records.jsonl line 1: data must be an object"),
        (
            "status.jsonl",
            [status("a"), {"key": "b", "ok": "yes"}],
            "status.jsonl line 2: ok must be true or false",
        ),
        (
            "status.jsonl",
            [{"key": "a", "ok": False, "reason": 3}],
            "status.jsonl line 1: reason must be a string or null",
        ),
    ],
)
def test_garbage_makes_the_output_untrusted(
    tmp_path: Path, file: str, lines: list, error: str
) -> None:
    write_lines(tmp_path / "records.jsonl", record("a"))
    write_lines(tmp_path / "status.jsonl", status("a"))
    (tmp_path / file).write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    output = collect(tmp_path, make_task(), CLEAN)
    assert isinstance(output, UntrustedOutput)
    assert output.reason.startswith(error)


def test_output_over_the_cap_is_refused(tmp_path: Path) -> None:
    write_lines(tmp_path / "records.jsonl", record("a", text="x" * 100))
    write_lines(tmp_path / "status.jsonl", status("a"))
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "blob").write_bytes(b"x" * 100)
    assert output_size(tmp_path) > 200
    output = collect(tmp_path, make_task(), CLEAN, max_bytes=200)
    assert isinstance(output, UntrustedOutput)
    assert output.reason.startswith("output: ")
    assert "exceed the limit of 200 bytes" in output.reason


def test_links_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text('{"key": "a", "data": {"stolen": true}}\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / "records.jsonl").symlink_to(secret)
    output = collect(out, make_task(), CLEAN)
    assert isinstance(output, UntrustedOutput)
    assert output.reason.startswith("records.jsonl: cannot be opened")


def test_a_fifo_is_not_a_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "status.jsonl")
    assert collect(tmp_path, make_task(), CLEAN) == UntrustedOutput(
        "status.jsonl: is not a regular file"
    )


def test_output_size_counts_links_not_what_they_point_to(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "big").write_bytes(b"x" * 10_000)
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "data").write_bytes(b"x" * 100)
    (out / "to-dir").symlink_to(host)
    (out / "to-file").symlink_to(host / "big")
    os.mkfifo(out / "fifo")
    size = output_size(out)
    assert 100 < size < 10_000
    assert output_overflow(out, size) is None
    assert output_overflow(out, size - 1) == f"output exceeded {size - 1} bytes"
    assert output_overflow(out, 2**20) is None


def test_output_of_too_many_entries_or_too_deep_is_over_its_limits(tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for n in range(MAX_OUTPUT_ENTRIES):
        (many / str(n)).touch()
    assert output_size(many) == 0
    (many / "one-more").touch()
    assert output_overflow(many, 2**30) == f"output: more than {MAX_OUTPUT_ENTRIES} entries"
    deep = tmp_path / "deep"
    (deep / Path(*["d"] * (MAX_OUTPUT_DEPTH - 1))).mkdir(parents=True)
    output_size(deep)
    (deep / Path(*["d"] * MAX_OUTPUT_DEPTH)).mkdir()
    with pytest.raises(GarbageOutput, match=f"nested deeper than {MAX_OUTPUT_DEPTH}"):
        output_size(deep)


def test_output_over_its_limits_is_not_read(tmp_path: Path) -> None:
    write_lines(tmp_path / "status.jsonl", status("a"))
    (tmp_path / "records.jsonl").write_text("garbage\n")
    run = ContainerExit(exit_code=137, overflow="output exceeded 4 MiB")
    assert collect(tmp_path, make_task(), run) == ScraperOutput(
        outcomes=[KeyOutcome(k, False, "output exceeded 4 MiB") for k in ("a", "b", "c")],
        error="output exceeded 4 MiB",
    )


def nest(directory: Path, depth: int) -> None:
    """Directories `d/d/...` `depth` deep under `directory` with a file at the bottom,
    made through descriptors (the whole path may be longer than PATH_MAX)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(os.open("bottom", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
    os.close(fd)


def test_remove_tree_goes_any_depth_and_never_follows_links(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "file").write_text("host data")
    tree = tmp_path / "tree"
    (tree / "output").mkdir(parents=True)
    nest(tree / "output", 3000)  # deeper than Python's recursion limit and PATH_MAX
    (tree / "output" / "to-dir").symlink_to(kept)
    (tree / "output" / "to-file").symlink_to(kept / "file")
    os.mkfifo(tree / "output" / "fifo")
    (tree / "output" / "many").mkdir()
    for n in range(100):
        (tree / "output" / "many" / str(n)).touch()
    remove_tree(tree)
    assert not tree.exists()
    assert (kept / "file").read_text() == "host data"
    remove_tree(tree)  # already gone


def test_nonzero_exit_keeps_complete_lines(tmp_path: Path) -> None:
    write_lines(tmp_path / "records.jsonl", record("a"), tail='{"key": "b", "da')
    write_lines(tmp_path / "status.jsonl", status("a"), tail='{"key": "b"')
    run = ContainerExit(exit_code=1, stderr_tail=("starting", "Traceback ...", "KeyError: 'x'"))
    output = collect(tmp_path, make_task(), run)
    assert output.error == "scraper exited with code 1: KeyError: 'x'"
    assert output.records == [record("a")]
    assert output.outcomes == [
        KeyOutcome("a", True),
        KeyOutcome("b", False, NO_STATUS_REASON),
        KeyOutcome("c", False, NO_STATUS_REASON),
    ]


def test_invalid_task_reports_the_first_stderr_line(tmp_path: Path) -> None:
    run = ContainerExit(
        exit_code=2,
        stderr_tail=("invalid task: unknown setting 'base_ulr'", "  base_url (str): the shop"),
    )
    output = collect(tmp_path, make_task(), run)
    assert output.error == "scraper exited with code 2: invalid task: unknown setting 'base_ulr'"


def test_nonzero_exit_without_stderr(tmp_path: Path) -> None:
    output = collect(tmp_path, make_task(), ContainerExit(exit_code=1))
    assert output.error == "scraper exited with code 1"


def test_timeout_keeps_complete_lines(tmp_path: Path) -> None:
    write_lines(tmp_path / "records.jsonl", record("a"))
    write_lines(tmp_path / "status.jsonl", status("a"), tail="{")
    output = collect(
        tmp_path, make_task(timeout_s=2.5), ContainerExit(exit_code=137, timed_out=True)
    )
    assert output.error == "timed out after 2.5 s"
    assert output.records == [record("a")]
    assert output.outcomes[0] == KeyOutcome("a", True)


def test_out_of_memory_is_named(tmp_path: Path) -> None:
    output = collect(tmp_path, make_task(), ContainerExit(exit_code=137, oom_killed=True))
    assert (
        output.error == f"scraper was killed for exceeding its memory limit of "
        f"{Limits().memory_bytes} bytes"
    )


def test_failed_run_and_garbage_name_both(tmp_path: Path) -> None:
    (tmp_path / "records.jsonl").write_text("oops\n")
    output = collect(tmp_path, make_task(), ContainerExit(exit_code=3, stderr_tail=("boom",)))
    assert isinstance(output, UntrustedOutput)
    assert output.reason.startswith("scraper exited with code 3: boom; records.jsonl line 1: ")


def test_cut_last_line_is_ignored_after_a_clean_exit_too(tmp_path: Path) -> None:
    write_lines(tmp_path / "records.jsonl", record("a"), record("b"), tail='{"key": "b"')
    write_lines(tmp_path / "status.jsonl", status("a"), status("b"), tail='{"key"')
    output = collect(tmp_path, make_task(), CLEAN)
    assert output.error is None
    assert output.records == [record("a"), record("b")]


@pytest.mark.parametrize(
    ("content", "progress"),
    [
        ('{"done": 2, "total": 5}', (2, 5)),
        ('{"done": 2}', None),
        ('{"done": -1, "total": 5}', None),
        ('{"done": true, "total": 5}', None),
        ("[1, 2]", None),
        ('{"done": 2, "tot', None),
    ],
)
def test_read_progress(tmp_path: Path, content: str, progress: tuple[int, int] | None) -> None:
    (tmp_path / "progress.json").write_text(content)
    assert read_progress(tmp_path) == progress


def test_no_progress_yet(tmp_path: Path) -> None:
    assert read_progress(tmp_path) is None
