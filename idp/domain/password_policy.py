"""Password rules (NIST SP 800-63B): length 12 to 1024 (at least 64 allowed), no composition
rules; refused if common or breached, if built on the user ID or the user's names, or if it is
one of the user's last five."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from idp.domain.errors import Message

MIN_LENGTH = 12
MAX_LENGTH = 1024
HISTORY = 5
# Words that people here put in passwords, beyond the general lists.
CONTEXT_WORDS = (
    "gfmis",
    "newgfmis",
    "softtoken",
    "cgd",
    "comptroller",
    "กรมบัญชีกลาง",
    "password",
    "รหัสผ่าน",
    "qwertyuiop",
    "asdfghjkl",
)

TOO_SHORT = Message(
    "the password must be at least {MIN_LENGTH} characters",
    MIN_LENGTH=MIN_LENGTH,
)
TOO_LONG = Message("the password is too long")
COMMON = Message(
    "this password is common or known from breaches: choose another",
)
PERSONAL = Message("the password must not contain your user ID or your name")
REUSED = Message("do not reuse one of your last 5 passwords")
MISMATCH = Message("the new password and its confirmation differ")


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(CONTEXT_WORDS)


def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold()


def _core(value: str) -> str:
    """The password without the digits and symbols people add around a word."""
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", value)


def problem(password: str, user_id: str, names: list[str]) -> Message | None:
    """The first rule this password breaks, or None (history is checked by the caller)."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    folded = _fold(password)
    squeezed = re.sub(r"\s+", "", folded)
    if folded in _common() or squeezed in _common() or _core(squeezed) in _common():
        return COMMON
    if len(set(squeezed)) <= 2:  # aaaaaaaaaaaa, abababababab
        return COMMON
    personal = [_fold(user_id)] + [
        _fold(part) for name in names for part in name.split() if len(part) >= 3
    ]
    if any(word and word in squeezed for word in personal):
        return PERSONAL
    return None
