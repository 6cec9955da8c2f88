"""The 13-digit Thai national ID (เลขประจำตัวประชาชน) and its check digit."""

from __future__ import annotations

import re

from idp.domain.errors import Message

_DIGITS = re.compile(r"^[0-9]{13}$")
BAD_FORMAT = Message("the national ID must be 13 digits")
BAD_CHECKSUM = Message(
    "the national ID is not valid (its check digit does not match)",
)


def normalise(value: str) -> str:
    """Digits only: people type 1-2345-67890-12-1 or with spaces."""
    return re.sub(r"[\s-]", "", value)


def check_digit(first_twelve: str) -> int:
    """Weights 13 down to 2 over the first 12 digits; check = (11 - sum mod 11) mod 10."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first_twelve))
    return (11 - total % 11) % 10


def problem(value: str) -> Message | None:
    """Why this is not a valid national ID, or None."""
    digits = normalise(value)
    if not _DIGITS.match(digits):
        return BAD_FORMAT
    if check_digit(digits[:12]) != int(digits[12]):
        return BAD_CHECKSUM
    return None


def with_check_digit(first_twelve: str) -> str:
    return first_twelve + str(check_digit(first_twelve))


def display(value: str) -> str:
    """X-XXXX-XXXXX-XX-X"""
    d = normalise(value)
    return f"{d[0]}-{d[1:5]}-{d[5:10]}-{d[10:12]}-{d[12]}"
