"""Identities on disk and the signatures they make."""

import os
from pathlib import Path

import pytest

from channel.errors import IdentityError
from channel.wire.identity import Identity, key_id, verify, verify_value

pytestmark = pytest.mark.unit


def test_key_file_is_created_private_and_reloads_to_the_same_id(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "identity.key"
    created = Identity.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Identity.load_or_create(path).id == created.id == key_id(created.public_key)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    Identity.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(IdentityError, match="chmod 600"):
        Identity.load_or_create(path)


def test_garbage_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    path.write_bytes(b"not a key")
    os.chmod(path, 0o600)
    with pytest.raises(IdentityError, match="cannot read key file"):
        Identity.load_or_create(path)


def test_signatures_verify_only_for_their_key_and_data() -> None:
    alice, bob = Identity.generate(), Identity.generate()
    signature = alice.sign(b"payload")
    assert verify(alice.public_key, b"payload", signature)
    assert not verify(alice.public_key, b"payloaD", signature)
    assert not verify(bob.public_key, b"payload", signature)
    assert not verify(alice.public_key, b"payload", "not base64!")


def test_value_signatures_do_not_depend_on_key_order() -> None:
    alice = Identity.generate()
    signature = alice.sign_value({"a": 1, "b": [1, 2]})
    assert verify_value(alice.public_key, {"b": [1, 2], "a": 1}, signature)
    assert not verify_value(alice.public_key, {"b": [2, 1], "a": 1}, signature)
