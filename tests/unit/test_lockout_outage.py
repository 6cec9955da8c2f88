"""A database outage in the middle of a password check is a 503, never a wrong attempt: found by
tests/topology (sign-ins retried through a PostgreSQL switch locked the user out for 5 min)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, cast

import pytest

from idp.domain.audit import Origin
from idp.domain.authn import PasswordCheck
from idp.domain.lockout import Limits, Lockout
from idp.storage.db import Database
from idp.storage.expiring import MemoryStore


class _Down(Exception):
    pass


class _DownDatabase:
    def session(self) -> AbstractContextManager[Any]:
        raise _Down("the database is not answering")


def test_attempts_during_a_database_outage_take_no_lockout_slot() -> None:
    store = MemoryStore()
    lockout = Lockout(
        store, Limits(attempts=5, lock_seconds=300, ip_attempts=50, ip_window_seconds=60)
    )
    check = PasswordCheck(cast(Database, _DownDatabase()), lockout)
    for _ in range(8):
        with pytest.raises(_Down):
            check.check("SOMCHAI01", "the right password", Origin(ip="192.0.2.1"))
    assert store.get("login-fail:SOMCHAI01") is None
    assert not lockout.is_locked("SOMCHAI01")
