"""The one clock of the account's life: certificate validity, renewal warnings, reminders,
registration and device timestamps all read it, so tests (and a development deployment, from
the dev tools) move time instead of sleeping.

Wire-protocol freshness between two parties (a device request's `iat`, a token's `exp`, a
challenge's two minutes) stays on real time: the other party's clock is not ours to move.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class ClockError(Exception):
    """Raised when someone moves a clock that may not move (any production deployment)."""


class Clock:
    def __init__(self, movable: bool = False) -> None:
        self.movable = movable
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def advance(self, delta: timedelta) -> None:
        """Move time forward (never back: what happened stays in the past)."""
        if not self.movable:
            raise ClockError("this clock is real time (development.movable_clock is off)")
        if delta < timedelta(0):
            raise ClockError("time only moves forward")
        with self._lock:
            self._offset += delta

    def set_to(self, moment: datetime) -> None:
        """Move time forward to `moment`."""
        self.advance(max(timedelta(0), moment - self.now()))
