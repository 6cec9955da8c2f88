"""Password hashing with argon2id (OWASP parameters: m=19 MiB, t=2, p=1)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when the user does not exist, so that a miss costs as much as a hit.
_DUMMY_HASH = _HASHER.hash("not-a-real-password-0000")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, stored_hash: str | None) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
