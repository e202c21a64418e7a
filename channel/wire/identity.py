"""Ed25519 identities: key files, ids derived from keys, signatures.

An identity's id is derived from its public key, so nobody can claim an id
without holding the matching private key.
"""

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from channel.errors import ChannelError, IdentityError
from channel.files import exposed
from channel.wire import canonical

KEY_FILE_MODE = 0o600


def key_id(public_key: str) -> str:
    """The stable id of a base64 public key: 'g' and 16 hex digits of its hash."""
    return "g" + hashlib.sha256(_decode_key(public_key)).hexdigest()[:16]


def verify(public_key: str, data: bytes, signature: str) -> bool:
    """Whether `signature` (base64) is a valid signature of `data` by `public_key`."""
    try:
        key = Ed25519PublicKey.from_public_bytes(_decode_key(public_key))
        key.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_value(public_key: str, value: Any, signature: str) -> bool:
    """Whether `signature` signs the canonical JSON of `value`."""
    return verify(public_key, canonical.dumps(value), signature)


def _decode_key(public_key: str) -> bytes:
    try:
        raw = base64.b64decode(public_key, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ChannelError("a public key must be 32 bytes of Ed25519 key in base64")
    return raw


class Identity:
    """A private Ed25519 key and what derives from it."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = base64.b64encode(raw).decode()
        self.id = key_id(self.public_key)

    @classmethod
    def generate(cls) -> "Identity":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> "Identity":
        """Load the key at `path`, creating it (mode 0600) on first run."""
        if not os.path.lexists(path):
            identity = cls.generate()
            identity._write(path)
            return identity
        why = exposed(path)
        if why is not None:
            raise IdentityError(f"key file {why}", path=path)
        try:
            pem = path.read_bytes()
        except OSError as e:
            raise IdentityError(f"cannot read key file {path}: {e}", path=path) from e
        try:
            return cls.from_pem(pem)
        except IdentityError as e:
            raise IdentityError(f"cannot read key file {path}: {e}", path=path) from e

    @classmethod
    def from_pem(cls, pem: bytes) -> "Identity":
        """The identity whose private key `pem` holds (PKCS#8, unencrypted)."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError as e:
            raise IdentityError(f"not a PEM private key: {e}") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise IdentityError("not an Ed25519 key")
        return cls(key)

    def to_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM: keep it secret."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def _write(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
            with os.fdopen(fd, "wb") as f:
                f.write(self.to_pem())
        except OSError as e:
            raise IdentityError(f"cannot create key file {path}: {e}", path=path) from e

    def sign(self, data: bytes) -> str:
        """A base64 signature of `data`."""
        return base64.b64encode(self._private_key.sign(data)).decode()

    def sign_value(self, value: Any) -> str:
        """A base64 signature of the canonical JSON of `value`."""
        return self.sign(canonical.dumps(value))
