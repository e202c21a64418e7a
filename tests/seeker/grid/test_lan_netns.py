"""LAN mode across network namespaces: a real `seeker run --discover` finds real
`giver run --lan` processes over mDNS on a bridge, and follows them as they move and stop.

The namespaces, the bridge and the veth pairs are the test's own (scripts/netns.py);
the Givers reach the Docker Engine through its unix socket as usual.
"""

import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from netns import Lan, Lines, Node
from support.base import OPERATOR_TOKEN, operator_token_file

pytestmark = pytest.mark.netns

BIN = Path(sys.executable).parent
SEEKER_PORT = 8765
WAIT_S = 60.0
POLL_S = 0.2


@pytest.fixture
def lan() -> Iterator[Lan]:
    with Lan(uuid.uuid4().hex[:6]) as made:
        yield made


def start(node: Node, argv: list[str]) -> tuple[subprocess.Popen[str], Lines]:
    process = node.popen(argv, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    return process, Lines(process.stderr)


def giver_id(data_dir: Path) -> str:
    shown = subprocess.run(
        [BIN / "giver", "id", "--data-dir", data_dir], capture_output=True, text=True, check=True
    )
    return shown.stdout.split()[1]


def until(condition: Callable[[], Any]) -> Any:
    """Poll `condition` (state behind another namespace's HTTP API) until it is truthy."""
    deadline = time.monotonic() + WAIT_S
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(POLL_S)
    return value


def stop(process: subprocess.Popen[str], log: Lines) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=WAIT_S) == 0
    log.join()
    assert "Traceback" not in log.text(), log.text()


def test_a_discovering_seeker_runs_a_job_on_lan_givers_and_follows_them(
    lan: Lan, tmp_path: Path, faulty_image: str
) -> None:
    seeker_node = lan.node("seeker")
    nodes = [lan.node("giver1"), lan.node("giver2")]
    api = f"http://127.0.0.1:{SEEKER_PORT}/api/v1"
    seeker, seeker_log = start(
        seeker_node,
        [
            str(BIN / "seeker"),
            "run",
            "--host",
            "0.0.0.0",
            "--port",
            str(SEEKER_PORT),
            "--data-dir",
            str(tmp_path / "seeker"),
            "--operator-token-file",
            str(operator_token_file(tmp_path)),
            "--discover",
            "--open-registration",
        ],
    )
    seeker_log.wait_for("serving on")
    ids = [giver_id(tmp_path / f"giver{n}") for n in (1, 2)]
    givers = [
        start(
            node,
            [
                str(BIN / "giver"),
                "run",
                "--lan",
                "--data-dir",
                str(tmp_path / f"giver{n}"),
                "--name",
                f"giver{n}",
                "--slots",
                "1",
            ],
        )
        for n, node in enumerate(nodes, 1)
    ]

    def online() -> set[str]:
        listed = seeker_node.fetch_json(f"{api}/givers", token=OPERATOR_TOKEN)["givers"]
        return {g["giver_id"] for g in listed if g["online"]}

    until(lambda: set(ids) <= online())
    for _, log in givers:
        log.wait_for(rf"results go to http://{seeker_node.address}:{SEEKER_PORT}/channel")

    submitted = subprocess.run(
        seeker_node.command(
            [
                str(BIN / "seeker"),
                "--seeker",
                f"http://127.0.0.1:{SEEKER_PORT}",
                "submit",
                "--image",
                faulty_image,
                "--keys",
                *"abcd",
                "--block-size",
                "2",
                "--wait",
            ]
        ),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert "4/4 done, 0 failed" in submitted.stdout

    moved_to = "10.231.7.42"
    mark = len(seeker_log.lines)
    nodes[1].readdress(moved_to)
    seeker_log.wait_for(rf"giver {ids[1]} (moved to|at) {re.escape(moved_to)}\b", mark)
    seeker_log.wait_for(rf"giver {ids[1]} session open", mark)
    until(lambda: ids[1] in online())

    stop(*givers[0])
    seeker_log.wait_for(rf"giver {ids[0]} withdrew its advert")
    until(lambda: ids[0] not in online())
    assert ids[1] in online()

    stop(*givers[1])
    stop(seeker, seeker_log)
