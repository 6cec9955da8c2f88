"""One-time codes sent by email: 6 digits, valid 10 minutes, a new one at most every 90 s;
5 wrong tries lock the flow for 5 minutes, and a new code does not reset the count."""

from __future__ import annotations

import hmac
import math
import secrets
import time
from typing import Any

from idp.domain.errors import Message, UserFacingError
from idp.domain.lockout import Lockout
from idp.storage.expiring import ExpiringStore

TTL = 600
RESEND_SECONDS = 90

LOCKED = Message("too many wrong codes: wait 5 minutes")
TOO_SOON = Message("a new code can be sent every 90 seconds")
WRONG = Message("the code is wrong or has expired")


class OneTimeCodes:
    def __init__(self, store: ExpiringStore, lockout: Lockout, pepper: bytes, purpose: str) -> None:
        self._store = store
        self._lockout = lockout
        self._pepper = pepper
        self._purpose = purpose

    def _key(self, subject: str) -> str:
        return f"otp:{self._purpose}:{subject}"

    def _digest(self, subject: str, code: str) -> str:
        message = f"{self._purpose}:{subject}:{code}".encode()
        return hmac.new(self._pepper, message, "sha256").hexdigest()

    def issue(self, subject: str, **data: Any) -> tuple[str, int]:
        """A new code for `subject` (the data comes back on success); (code, expiry)."""
        if self._lockout.is_locked(subject):
            raise UserFacingError(LOCKED)
        if not self._store.add(self._key(subject) + ":sent", {"at": time.time()}, RESEND_SECONDS):
            raise UserFacingError(TOO_SOON)
        code = f"{secrets.randbelow(10**6):06d}"
        expires = int(time.time()) + TTL
        self._store.put(
            self._key(subject),
            {"digest": self._digest(subject, code), "data": data, "expires": expires},
            TTL,
        )
        return code, expires

    def resend_wait(self, subject: str) -> int:
        """Whole seconds before `issue` sends a new code for `subject` (0: now): what the
        page counts down; `issue` stays the judge."""
        sent = self._store.get(self._key(subject) + ":sent")
        if sent is None:
            return 0
        at = sent.get("at")
        if not isinstance(at, int | float):  # a marker from before this field: the full wait
            return RESEND_SECONDS
        return max(0, min(RESEND_SECONDS, math.ceil(at + RESEND_SECONDS - time.time())))

    def pending(self, subject: str) -> bool:
        return self._store.get(self._key(subject)) is not None

    def verify(self, subject: str, code: str, ip: str | None) -> dict[str, Any] | None:
        """The data given at issue when the code is right (it is then used up); None when it
        is wrong or expired (counted); UserFacingError(LOCKED) when locked."""
        reservation = self._lockout.reserve(subject, ip)
        if not reservation.allowed:
            raise UserFacingError(LOCKED)
        pending = self._store.get(self._key(subject))
        if pending is None or not hmac.compare_digest(
            str(pending["digest"]), self._digest(subject, code.strip())
        ):
            self._lockout.failed(subject, ip, reservation)
            return None
        if self._store.consume(self._key(subject)) is None:  # a racing request took it
            return None
        self._lockout.succeeded(subject)
        data: dict[str, Any] = pending["data"]
        return data
