"""The Seeker key this Giver trusts: tasks run only if that key signed them.

The key comes from the volunteer (`--seeker-key`) or is pinned on first
contact: the key the Seeker names when this Giver first registers is written
to a file in the data dir, and every later registration and session must
name the same key. A different key is fatal: someone may be posing as the
Seeker, or its operator changed keys, which only the volunteer can accept.
"""

import logging
import os
from pathlib import Path

from channel.errors import ChannelError
from channel.wire.identity import key_id
from giver.errors import ConfigError, GiverError, SeekerKeyChanged

log = logging.getLogger(__name__)

PIN_FILE_MODE = 0o644


class SeekerKeyPin:
    """The trusted Seeker key: `configured` if given, else the one pinned at `path`."""

    def __init__(self, configured: str, path: Path) -> None:
        self.path = path
        self.configured = configured
        self.key = configured
        # Whether `key` needs no writing: configured, or read from or written to `path`.
        self.saved = bool(configured)

    def load(self) -> None:
        """Read a key pinned earlier, unless the volunteer configured one (blocking)."""
        if self.configured or not self.path.exists():
            return
        try:
            key = self.path.read_text().strip()
            key_id(key)
        except (OSError, ChannelError) as e:
            raise GiverError(
                f"cannot read the pinned Seeker key in {self.path}: {e}; delete the file "
                "to pin the key the Seeker names next"
            ) from e
        self.key = key
        self.saved = True

    def check(self, offered: str, seeker_url: str) -> bool:
        """Accept the key the Seeker at `seeker_url` names, or raise SeekerKeyChanged;
        True when it was pinned now (first contact) and must be saved."""
        if not offered:
            raise SeekerKeyChanged(
                f"the Seeker at {seeker_url} named no key to sign tasks with; it may be an "
                "older Seeker, or not a Seeker at all",
                url=seeker_url,
                pinned=self.key,
                offered=offered,
            )
        if not self.key:
            self.key = offered
            return True
        self.confirm(offered, seeker_url)
        return False

    def confirm(self, offered: str, seeker_url: str) -> None:
        """Raise SeekerKeyChanged if this Giver trusts a key already and the Seeker at
        `seeker_url` names another; pins nothing."""
        if not self.key or offered == self.key:
            return
        if self.configured:
            source = "given as --seeker-key, SEEKGIVE_GIVER_SEEKER_KEY or seeker_key in the file"
            cause = "The key given is not this Seeker's, or someone is posing as the Seeker"
            remedy = (
                "Ask the Seeker's operator for its key (`seeker id` prints it) and give "
                "that one with --seeker-key."
            )
        else:
            source = f"pinned in {self.path}"
            cause = "Someone may be posing as the Seeker"
            remedy = (
                "If its operator really changed keys, delete "
                f"{self.path} and start the Giver again to pin the new one."
            )
        raise SeekerKeyChanged(
            f"the Seeker at {seeker_url} signs with key {offered}, but this Giver trusts "
            f"key {self.key} ({source}). {cause}; this Giver stops. {remedy}",
            url=seeker_url,
            pinned=self.key,
            offered=offered,
        )

    def save(self) -> None:
        """Write the key pinned on first contact (blocking)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".partial")
            partial.write_text(self.key + "\n")
            os.chmod(partial, PIN_FILE_MODE)
            partial.replace(self.path)
            self.saved = True
        except OSError as e:
            raise GiverError(f"cannot write the pinned Seeker key to {self.path}: {e}") from e
        log.info("pinned the Seeker key %s in %s", self.key, self.path)


def valid_seeker_key(key: str) -> str:
    """`key` if it is an Ed25519 public key in base64; else ConfigError."""
    try:
        key_id(key)
    except ChannelError as e:
        raise ConfigError("seeker_key", str(e)) from e
    return key
