"""Random values, digests and the master key ring that encrypts private keys at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random value with nbytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def same_digest(value: str, expected_hex: str) -> bool:
    """Constant-time check of value against a stored SHA-256 hex digest."""
    return hmac.compare_digest(sha256_hex(value), expected_hex)


class MasterKeyError(Exception):
    pass


class SealedValueError(MasterKeyError):
    """A sealed value that no key of the ring opens (fail closed: never a partial value)."""


# A sealed value: SEALED_V1, the 8-byte ID of the key that sealed it, a 12-byte nonce, then the
# AES-256-GCM ciphertext and tag, with SEALED_V1 + key ID + the value's context as associated
# data. A value sealed before the ring existed is the nonce and ciphertext alone ("legacy").
SEALED_V1 = b"\x00mk\x01"
KEY_ID_BYTES = 8
_HEADER = len(SEALED_V1) + KEY_ID_BYTES
NONCE_BYTES = 12


def key_id_of(key: bytes) -> str:
    """A master key's public name: 16 hex digits of an HMAC under it (a check value that tells
    keys apart and reveals nothing usable about the key)."""
    return hmac.new(key, b"idp-master-key-id", hashlib.sha256).digest()[:KEY_ID_BYTES].hex()


@dataclass(frozen=True)
class Seal:
    """Which key of the ring opened a value, and whether it carried the key's ID."""

    key_id: str
    legacy: bool


class MasterKey:
    """AES-256-GCM under the deployment's master key ring: the current key seals (and is the
    root of every derived sub-key); previous keys only open what they sealed, until
    `idp master-key rotate` has sealed it again under the current key."""

    def __init__(self, key: bytes, previous: Iterable[bytes] = ()) -> None:
        if len(key) != 32:
            raise MasterKeyError("security.master_key must be 32 bytes, base64url-encoded")
        self._key = key
        self.key_id = key_id_of(key)
        self._aead = AESGCM(key)
        ring: dict[str, AESGCM] = {self.key_id: self._aead}
        for old in previous:
            if len(old) != 32:
                raise MasterKeyError(
                    "security.previous_master_keys: every key must be 32 bytes, base64url-encoded"
                )
            ring.setdefault(key_id_of(old), AESGCM(old))
        self._ring = ring

    @classmethod
    def from_settings(
        cls,
        encoded: str,
        file: Path,
        development: bool,
        previous: str = "",
        previous_file: Path | None = None,
    ) -> MasterKey:
        """The current key (security.master_key, else its file; in development a new file),
        with the previous keys: security.previous_master_keys (separated by commas or white
        space) and the lines of security.previous_master_keys_file."""
        old = [_decode(item, "previous_master_keys") for item in split_keys(previous)]
        if previous_file is not None:
            try:
                lines = previous_file.read_text()
            except OSError as exc:
                raise MasterKeyError(
                    f"security.previous_master_keys_file: {previous_file}: {exc.strerror}"
                ) from exc
            old += [_decode(item, "previous_master_keys_file") for item in split_keys(lines)]
        if encoded:
            return cls(_decode(encoded), old)
        if file.exists():
            return cls(_decode(file.read_text().strip()), old)
        if not development:
            raise MasterKeyError("security.master_key is not set")
        file.parent.mkdir(parents=True, exist_ok=True)
        key = AESGCM.generate_key(256)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(key).decode())
        return cls(key, old)

    @property
    def previous_ids(self) -> list[str]:
        return [key_id for key_id in self._ring if key_id != self.key_id]

    def derive(self, label: bytes) -> bytes:
        """A sub-key for one purpose (HMAC of the label under the CURRENT master key only: a
        previous key, which may be the one that leaked, never authenticates anything)."""
        return hmac.new(self._key, b"idp-subkey:" + label, hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        """Seal under the current key, naming it."""
        header = SEALED_V1 + bytes.fromhex(self.key_id)
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + self._aead.encrypt(nonce, plaintext, header + context)

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        return self.open(blob, context)[0]

    def open(self, blob: bytes, context: bytes) -> tuple[bytes, Seal]:
        """The plaintext and the key that opened it; SealedValueError when no key of the ring
        does (a wrong or missing key, or a value altered or bound to another context)."""
        blob = bytes(blob)
        named = blob[len(SEALED_V1) : _HEADER].hex() if blob.startswith(SEALED_V1) else None
        if named is not None and named in self._ring:
            header, rest = blob[:_HEADER], blob[_HEADER:]
            try:
                plain = self._ring[named].decrypt(
                    rest[:NONCE_BYTES], rest[NONCE_BYTES:], header + context
                )
                return plain, Seal(named, legacy=False)
            except InvalidTag:
                pass
        # Sealed before the ring (or, once in 2^32, a legacy nonce that begins like a header).
        for key_id, aead in self._ring.items():
            try:
                plain = aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)
                return plain, Seal(key_id, legacy=True)
            except (InvalidTag, ValueError):
                continue
        if named is not None and named not in self._ring:
            raise SealedValueError(
                f"this value was sealed under master key {named}, which is not in the ring "
                f"(current {self.key_id}, previous {', '.join(self.previous_ids) or 'none'}): "
                "give that key as security.master_key or in security.previous_master_keys"
            )
        raise SealedValueError(
            "no master key of the ring opens this value "
            f"(current {self.key_id}, previous {', '.join(self.previous_ids) or 'none'}): "
            "the key it was sealed under is missing, or the value was altered"
        )

    def reseal(self, blob: bytes, context: bytes) -> bytes | None:
        """The value sealed again under the current key, or None when it already is."""
        plain, seal = self.open(blob, context)
        if seal.key_id == self.key_id and not seal.legacy:
            return None
        return self.encrypt(plain, context)


def split_keys(text: str) -> list[str]:
    """Keys in a setting or a file: separated by commas or white space."""
    return [item for item in text.replace(",", " ").split() if item]


def _decode(encoded: str, name: str = "master_key") -> bytes:
    """The key's bytes; an error names the setting, never the value."""
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError as exc:
        raise MasterKeyError(f"security.{name} is not valid base64url") from exc
