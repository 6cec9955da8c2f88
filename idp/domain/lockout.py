"""Failed-attempt counting: 5 wrong passwords lock an account for 5 minutes, per-IP throttling.

The per-IP limit counts failures only, so one office behind a shared address is not locked out
by its own successful sign-ins.

Each attempt reserves a slot with an atomic increment *before* the password is checked, so 20
parallel wrong attempts still get at most `attempts` password checks. A success frees the
account's counter; the failure that reaches the limit sets a lock that lives `lock_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.storage.expiring import ExpiringStore


@dataclass(frozen=True)
class Limits:
    attempts: int
    lock_seconds: int
    ip_attempts: int
    ip_window_seconds: int


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    account_count: int = 0
    locked_now: bool = False


class Lockout:
    def __init__(self, store: ExpiringStore, limits: Limits, scope: str = "login") -> None:
        self._store = store
        self._limits = limits
        self._scope = scope

    def _keys(self, account: str, ip: str | None) -> tuple[str, str, str]:
        return (
            f"{self._scope}-fail:{account}",
            f"{self._scope}-lock:{account}",
            f"{self._scope}-ip:{ip or 'unknown'}",
        )

    def is_locked(self, account: str) -> bool:
        return self._store.get(self._keys(account, None)[1]) is not None

    def reserve(self, account: str, ip: str | None) -> Reservation:
        """Take an attempt slot; refuse when the account is locked or the IP is throttled."""
        fails, lock, ip_key = self._keys(account, ip)
        if self._store.get(lock) is not None:
            return Reservation(False)
        ip_failures = (self._store.get(ip_key) or {}).get("count", 0)
        if ip_failures >= self._limits.ip_attempts:
            return Reservation(False)
        count = self._store.increment(fails, self._limits.lock_seconds)
        return Reservation(count <= self._limits.attempts, count)

    def succeeded(self, account: str) -> None:
        self._store.delete(self._keys(account, None)[0])

    def failed(self, account: str, ip: str | None, reservation: Reservation) -> bool:
        """Record a wrong attempt; return True when this failure locked the account."""
        self._store.increment(self._keys(account, ip)[2], self._limits.ip_window_seconds)
        if reservation.account_count == self._limits.attempts:
            lock = self._keys(account, None)[1]
            self._store.put(lock, {"locked": True}, self._limits.lock_seconds)
            return True
        return False
