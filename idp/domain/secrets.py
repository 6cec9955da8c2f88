"""Random values, digests and the master key that encrypts private keys at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

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


class MasterKey:
    """AES-256-GCM under the deployment's master key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise MasterKeyError("security.master_key must be 32 bytes, base64url-encoded")
        self._key = key
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, encoded: str, file: Path, development: bool) -> MasterKey:
        if encoded:
            return cls(_decode(encoded))
        if file.exists():
            return cls(_decode(file.read_text().strip()))
        if not development:
            raise MasterKeyError("security.master_key is not set")
        file.parent.mkdir(parents=True, exist_ok=True)
        key = AESGCM.generate_key(256)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(key).decode())
        return cls(key)

    def derive(self, label: bytes) -> bytes:
        """A sub-key for one purpose (HMAC of the label under the master key)."""
        return hmac.new(self._key, b"idp-subkey:" + label, hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        return self._aead.decrypt(blob[:12], blob[12:], context)


def _decode(encoded: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError as exc:
        raise MasterKeyError("security.master_key is not valid base64url") from exc
