"""The master key ring (idp.domain.secrets): the current key seals and names itself, previous
keys still open, values sealed before the ring still open, anything else fails closed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idp.domain.secrets import SEALED_V1, MasterKey, MasterKeyError, SealedValueError, key_id_of

OLD, NEW, OTHER = os.urandom(32), os.urandom(32), os.urandom(32)


def _legacy(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """A value as MasterKey sealed it before the ring: nonce and ciphertext, no key ID."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def test_a_new_seal_names_the_current_key() -> None:
    ring = MasterKey(NEW, [OLD])
    blob = ring.encrypt(b"secret", b"ctx")
    assert blob.startswith(SEALED_V1 + bytes.fromhex(key_id_of(NEW)))
    plain, seal = ring.open(blob, b"ctx")
    assert (plain, seal.key_id, seal.legacy) == (b"secret", key_id_of(NEW), False)
    assert ring.reseal(blob, b"ctx") is None  # already where it belongs


def test_a_previous_key_opens_what_it_sealed_and_reseal_moves_it() -> None:
    blob = MasterKey(OLD).encrypt(b"secret", b"ctx")
    ring = MasterKey(NEW, [OLD])
    assert ring.open(blob, b"ctx")[1].key_id == key_id_of(OLD)
    moved = ring.reseal(blob, b"ctx")
    assert moved is not None
    assert MasterKey(NEW).decrypt(moved, b"ctx") == b"secret"  # the old key is no longer needed


@pytest.mark.parametrize("sealed_by", [OLD, NEW], ids=["previous", "current"])
def test_values_sealed_before_the_ring_still_open(sealed_by: bytes) -> None:
    blob = _legacy(sealed_by, b"secret", b"ctx")
    ring = MasterKey(NEW, [OLD])
    plain, seal = ring.open(blob, b"ctx")
    assert (plain, seal.key_id, seal.legacy) == (b"secret", key_id_of(sealed_by), True)
    moved = ring.reseal(blob, b"ctx")  # even under the current key: it gains the key ID
    assert moved is not None
    assert MasterKey(NEW).open(moved, b"ctx")[1].legacy is False


def test_a_key_not_in_the_ring_fails_closed_naming_it() -> None:
    blob = MasterKey(OTHER).encrypt(b"secret", b"ctx")
    with pytest.raises(SealedValueError, match=key_id_of(OTHER)) as raised:
        MasterKey(NEW, [OLD]).decrypt(blob, b"ctx")
    assert "previous_master_keys" in str(raised.value)
    with pytest.raises(SealedValueError, match="no master key of the ring opens"):
        MasterKey(NEW).decrypt(_legacy(OTHER, b"secret", b"ctx"), b"ctx")


def test_an_altered_value_or_another_context_fails_closed() -> None:
    ring = MasterKey(NEW)
    blob = ring.encrypt(b"secret", b"ctx")
    altered = blob[:-1] + bytes([blob[-1] ^ 1])
    for value, context in ((altered, b"ctx"), (blob, b"other"), (b"short", b"ctx")):
        with pytest.raises(SealedValueError):
            ring.decrypt(value, context)


def test_derived_keys_come_from_the_current_key_only_and_are_unchanged() -> None:
    label = b"csrf"
    before_the_ring = hmac.new(NEW, b"idp-subkey:" + label, hashlib.sha256).digest()
    assert MasterKey(NEW).derive(label) == before_the_ring
    assert MasterKey(NEW, [OLD]).derive(label) == before_the_ring
    assert MasterKey(OLD).derive(label) != before_the_ring  # rotation changes every sub-key


def test_settings_give_the_previous_keys(tmp_path: Path) -> None:
    listed = tmp_path / "previous"
    listed.write_text(_b64(OTHER) + "\n")
    ring = MasterKey.from_settings(
        _b64(NEW), tmp_path / "none", False, f"{_b64(OLD)}, {_b64(NEW)}", listed
    )
    assert ring.key_id == key_id_of(NEW)
    assert ring.previous_ids == [key_id_of(OLD), key_id_of(OTHER)]  # the current one once


def test_a_bad_previous_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    short = _b64(os.urandom(16))
    with pytest.raises(MasterKeyError, match="previous_master_keys") as raised:
        MasterKey.from_settings(_b64(NEW), tmp_path / "none", False, short)
    assert short not in str(raised.value)
    with pytest.raises(MasterKeyError, match="previous_master_keys_file"):
        MasterKey.from_settings(_b64(NEW), tmp_path / "none", False, "", tmp_path / "missing")
