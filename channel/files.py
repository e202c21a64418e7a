"""Files only their owner may read: private keys, stores that hold secrets, and
token files.

May import: nothing.
"""

import stat
from pathlib import Path

# Where Docker mounts a container's secrets (compose `secrets:`, swarm): files
# there are seen in that container only, so their 0444 default exposes nothing.
SECRETS_DIR = Path("/run/secrets")


class SecretFileError(ValueError):
    """A file meant to hold a token cannot be used; the message names the file
    and the fix."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def exposed(path: Path) -> str | None:
    """Why the file at `path` is not private, with the command that makes it so;
    None if only its owner may read or write it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
    return None


def read_secret(path: Path) -> str:
    """The token the file at `path` holds (surrounding blanks dropped).

    Raises SecretFileError if it cannot be read, is empty, or others than its
    owner may read or write it; but a secret Docker mounted in /run/secrets
    (owned by root or the container's user, mode 0444 by default) may be read
    by all as long as only its owner may write it, since only its container
    sees it.
    """
    try:
        info = path.stat()
        text = path.read_text()
    except OSError as e:
        raise SecretFileError(path, f"cannot read the token file {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise SecretFileError(path, f"the token file {path} is not text") from e
    docker_secret = path.resolve().parent == SECRETS_DIR and not stat.S_IMODE(info.st_mode) & 0o022
    why = None if docker_secret else exposed(path)
    if why is not None:
        raise SecretFileError(path, f"the token file {why}")
    if not text.strip():
        raise SecretFileError(path, f"the token file {path} is empty; write the token in it")
    return text.strip()
