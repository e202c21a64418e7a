"""Files only their owner may read: private keys, and stores that hold secrets.

May import: nothing.
"""

import stat
from pathlib import Path


def exposed(path: Path) -> str | None:
    """Why the file at `path` is not private, with the command that makes it so;
    None if only its owner may read or write it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
    return None
