"""``python -m seekgive_sdk schema|labels|--help [SCRIPT]``: ask a scraper script about itself.

SCRIPT defaults to $SEEKGIVE_SCRAPER, else /opt/seekgive/scraper.py (where the
example images put it). It runs as ``__main__`` with the command as its
argument, exactly as ``python3 SCRIPT COMMAND`` would.
"""

import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

COMMANDS = ("schema", "labels", "--help")
SCRIPT_ENV = "SEEKGIVE_SCRAPER"
DEFAULT_SCRIPT = "/opt/seekgive/scraper.py"
EXIT_USAGE = 2


def main(args: Sequence[str]) -> int:
    """Run the scraper script with the command; return an exit code if it does not exit."""
    if not 1 <= len(args) <= 2 or args[0] not in COMMANDS:
        print(f"usage: python -m seekgive_sdk {{{'|'.join(COMMANDS)}}} [SCRIPT]", file=sys.stderr)
        return EXIT_USAGE
    command = args[0]
    script = args[1] if len(args) == 2 else os.environ.get(SCRIPT_ENV, DEFAULT_SCRIPT)
    path = Path(script)
    if not path.is_file():
        print(f"seekgive_sdk: no scraper script at {script}", file=sys.stderr)
        return EXIT_USAGE
    sys.argv = [script, command]
    sys.path.insert(0, str(path.resolve().parent))
    runpy.run_path(script, run_name="__main__")
    print(f"seekgive_sdk: {script} did not call seekgive_sdk.run", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
