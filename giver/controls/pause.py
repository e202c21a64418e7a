"""The volunteer's pause, kept in a file so that it survives a restart.

`giver pause` writes the file (through the running daemon, or directly when
none runs) and `giver resume` removes it; the file holds when the pause began.
"""

import os
import time
from pathlib import Path

from giver.errors import ConfigError


def paused_since(path: Path) -> float | None:
    """When the pause began, or None if the Giver is not paused."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(str(path), f"cannot read the pause file: {e.strerror or e}") from e
    try:
        return float(text)
    except ValueError:
        return path.stat().st_mtime  # written by hand: paused all the same


def pause(path: Path) -> float:
    """Pause (if not paused already); when the pause began."""
    since = paused_since(path)
    if since is not None:
        return since
    since = time.time()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(f"{since}\n")
    os.replace(temp, path)
    return since


def resume(path: Path) -> bool:
    """End the pause; whether the Giver was paused."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
