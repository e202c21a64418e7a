"""Sealed records: a job's data sealed to its recipient, so the Channel stores
what it cannot read.

A recipient is an X25519 key pair. The operator keeps the private key in a
file (unencrypted PKCS#8 PEM, mode 0600) and gives the job the public key as
base64 of its raw 32 bytes. A Giver seals each record's data with HPKE (RFC
9180, base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305);
the HPKE `info` names the job and the key, so a ciphertext opens only as the
record it was sealed as. HPKE's base mode does not say who sealed: the
Giver's signature over the result does.

Copies of a sealed block are compared by their `agreement`: an HMAC-SHA256,
under a key the Seeker creates for the job and gives only to its Givers, of
what the Seeker would hash for plain records. The Channel never holds that
key, so it cannot test guesses of the data against it.
"""

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from channel.errors import RecipientKeyError, SealedRecordError, WireError
from channel.files import exposed
from channel.wire import canonical
from channel.wire.comparison import comparison_parts
from channel.wire.models import KEY_BYTES, decode_key
from channel.wire.results import KeyOutcome

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
RECORD_INFO = b"seekgive/sealed-record/v1\n"
KEY_FILE_MODE = 0o600
RECIPIENT_FORMAT = "base64 (standard, padded) of a raw 32-byte X25519 public key"


def public_key(text: Any) -> X25519PublicKey:
    """The recipient key `text` holds, or RecipientKeyError."""
    raw = decode_key(text) if isinstance(text, str) else b""
    if len(raw) != KEY_BYTES:
        raise RecipientKeyError(f"a recipient key must be the {RECIPIENT_FORMAT}")
    return X25519PublicKey.from_public_bytes(raw)


def check_recipient(text: Any) -> None:
    """Raise RecipientKeyError unless records can be sealed to `text` (a low-order
    point is 32 bytes too, and no private key opens what is sealed to it)."""
    try:
        SUITE.encrypt(b"", public_key(text), info=RECORD_INFO)
    except ValueError as e:
        raise RecipientKeyError(
            "the recipient key is not a usable X25519 public key (a low-order point)"
        ) from e


def record_info(job_id: str, key: str) -> bytes:
    """The HPKE `info` of record `key` of job `job_id`."""
    return RECORD_INFO + canonical.dumps({"job_id": job_id, "key": key})


def seal_record(recipient: str, job_id: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
    """Record `key` of job `job_id` with its `data` sealed to `recipient` (base64)."""
    try:
        sealed = SUITE.encrypt(
            canonical.dumps(data), public_key(recipient), info=record_info(job_id, key)
        )
    except ValueError as e:
        raise RecipientKeyError(f"cannot seal to the recipient key: {e}") from e
    return {"key": key, "sealed": base64.b64encode(sealed).decode()}


def open_record(
    private_key: X25519PrivateKey, job_id: str, record: dict[str, Any]
) -> dict[str, Any]:
    """The plain `{"key", "data"}` of a sealed record of job `job_id`, or
    SealedRecordError naming its key."""
    key = record.get("key")
    if not isinstance(key, str):
        raise SealedRecordError(f"a record of job {job_id} has no key", job_id=job_id, key="")
    sealed = decode_key(record.get("sealed", ""))
    if not sealed:
        raise SealedRecordError(
            f"record {key!r} of job {job_id} is not sealed (its sealed is not base64)",
            job_id=job_id,
            key=key,
        )
    try:
        plain = SUITE.decrypt(sealed, private_key, info=record_info(job_id, key))
    except InvalidTag as e:
        raise SealedRecordError(
            f"record {key!r} of job {job_id} does not open with this key: it was sealed "
            "to another recipient, altered, or moved from another key or job",
            job_id=job_id,
            key=key,
        ) from e
    try:
        data = canonical.loads(plain)
    except WireError as e:
        raise SealedRecordError(
            f"record {key!r} of job {job_id} opens to something that is not JSON",
            job_id=job_id,
            key=key,
        ) from e
    if not isinstance(data, dict):
        raise SealedRecordError(
            f"record {key!r} of job {job_id} opens to something that is not an object",
            job_id=job_id,
            key=key,
        )
    return {"key": key, "data": data}


def new_agreement_key() -> str:
    """A fresh key for a sealed job's agreements, in base64."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def agreement(
    agreement_key: str,
    records: Iterable[dict[str, Any]],
    outcomes: Iterable[KeyOutcome],
    ignore_fields: Collection[str] = (),
) -> str:
    """Hex HMAC-SHA256 under `agreement_key` (base64) of what copies of a result
    are compared by, over the plain `records`."""
    mac = hmac.new(decode_key(agreement_key), digestmod=hashlib.sha256)
    for part in comparison_parts(records, outcomes, ignore_fields):
        mac.update(part)
    return mac.hexdigest()


def public_text(private_key: X25519PrivateKey) -> str:
    """The recipient key to give a job: base64 of the raw public key."""
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def create_recipient(path: Path) -> str:
    """Write a new recipient's private key to `path` (which must not exist; mode
    0600); its public key, to give jobs."""
    private_key = X25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    except FileExistsError as e:
        raise RecipientKeyError(f"{path} exists already; keep it or remove it", path=path) from e
    except OSError as e:
        raise RecipientKeyError(f"cannot create key file {path}: {e.strerror}", path=path) from e
    return public_text(private_key)


def load_private_key(path: Path) -> X25519PrivateKey:
    """The recipient's private key in the file at `path`, or RecipientKeyError."""
    try:
        why = exposed(path)
        if why is not None:
            raise RecipientKeyError(f"key file {why}", path=path)
        pem = path.read_bytes()
    except OSError as e:
        raise RecipientKeyError(f"cannot read key file {path}: {e.strerror}", path=path) from e
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise RecipientKeyError(
            f"key file {path} is not an unencrypted PEM private key", path=path
        ) from e
    if not isinstance(key, X25519PrivateKey):
        raise RecipientKeyError(
            f"key file {path} does not hold an X25519 private key "
            "(`seeker recipient new` makes one)",
            path=path,
        )
    return key
