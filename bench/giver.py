"""Measurements of the Giver.

Discovery latency: in a LAN of network namespaces (scripts/netns.py), a
`seeker run --discover` process runs in one namespace; each sample starts a
`giver run --lan` process in another and times how long until the Seeker
logs that it holds a session with it, then stops the Giver and waits until
the Seeker saw the advert withdrawn. Prints each sample, the median and the
95th percentile; `--json` ends the output with one JSON object of the
figures. Needs root (namespaces) and the Docker Engine.
"""

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from netns import Lan, Lines  # noqa: E402

BIN = Path(sys.executable).parent
SEEKER_PORT = 8765
WAIT_S = 60.0


def _giver_id(data_dir: Path) -> str:
    shown = subprocess.run(
        [BIN / "giver", "id", "--data-dir", data_dir], capture_output=True, text=True, check=True
    )
    return shown.stdout.split()[1]


def measure_discovery(samples: int, work: Path) -> list[float]:
    """Seconds from a LAN Giver's process starting to the Seeker holding a session with
    it, `samples` times (one Seeker, the same Giver started afresh each time)."""
    with Lan() as lan:
        seeker_node, giver_node = lan.node("seeker"), lan.node("giver")
        seeker = seeker_node.popen(
            [
                str(BIN / "seeker"),
                "run",
                "--host",
                "0.0.0.0",
                "--port",
                str(SEEKER_PORT),
                "--data-dir",
                str(work / "seeker"),
                "--discover",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert seeker.stderr is not None
        seeker_log = Lines(seeker.stderr)
        seeker_log.wait_for("serving on")
        giver_dir = work / "giver"
        giver_id = _giver_id(giver_dir)
        taken = []
        for n in range(samples):
            mark = len(seeker_log.lines)
            started = time.monotonic()
            giver = giver_node.popen(
                [str(BIN / "giver"), "run", "--lan", "--data-dir", str(giver_dir)],
                stderr=subprocess.DEVNULL,
            )
            opened = seeker_log.wait_for(rf"giver {giver_id} session open", mark)
            taken.append(opened - started)
            print(f"sample {n + 1}: {taken[-1]:.2f} s", flush=True)
            giver.send_signal(signal.SIGINT)
            giver.wait(timeout=WAIT_S)
            seeker_log.wait_for(rf"giver {giver_id} withdrew its advert", mark)
        seeker.send_signal(signal.SIGINT)
        seeker.wait(timeout=WAIT_S)
    return taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5, help="Givers started (default 5)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    with tempfile.TemporaryDirectory(prefix="seekgive-bench-") as work:
        taken = measure_discovery(args.samples, Path(work))
    ordered = sorted(taken)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"discovery: median {median:.2f} s, p95 {p95:.2f} s over {len(taken)} sample(s)")
    if args.json:
        print(
            json.dumps(
                {"discovery_s": median, "discovery_p95_s": p95, "discovery_samples_s": taken}
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
