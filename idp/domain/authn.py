"""Password authentication with lockout, enumeration-safe results and audit."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from idp.domain import audit
from idp.domain.audit import Origin
from idp.domain.lifecycle import may_sign_in, spend_initial_password
from idp.domain.lockout import Lockout
from idp.domain.passwords import verify_password
from idp.storage.db import Database
from idp.storage.models import User

# Anything may be typed; only this shape can be a user ID, the rest is a miss like any other.
_ACCOUNT_KEY = re.compile(r"^[A-Z0-9]{1,32}$")


class Result(enum.Enum):
    OK = "ok"
    INVALID = "invalid"  # wrong user ID or password, or a disabled account: one message
    LOCKED = "locked"


@dataclass(frozen=True)
class PasswordCheck:
    """The password step of the sign-in, bound to the database and the lockout it counts in.
    A transaction of its own: call it from a worker thread."""

    db: Database
    lockout: Lockout

    def check(self, user_id: str, password: str, origin: Origin) -> tuple[Result, User | None]:
        account = user_id.strip().upper()
        key = account if _ACCOUNT_KEY.match(account) else "invalid-id"
        with self.db.session() as session:
            # Read before the attempt slot is taken: when the database is down the request
            # fails (503) here, and an outage never counts toward the lockout.
            user = session.get(User, account) if key == account else None
            reservation = self.lockout.reserve(key, origin.ip)
            if not reservation.allowed:
                audit.record(
                    session,
                    "login.password",
                    actor=key,
                    subject=key,
                    outcome="locked",
                    origin=origin,
                )
                return Result.LOCKED, None
            stored = user.password_hash if user is not None else None
            ok = verify_password(password, stored) and user is not None and may_sign_in(user)
            if ok and user is not None:
                spend_initial_password(user)
                self.lockout.succeeded(key)
                audit.record(
                    session, "login.password", actor=account, subject=account, origin=origin
                )
                return Result.OK, user
            locked_now = self.lockout.failed(key, origin.ip, reservation)
            audit.record(
                session, "login.password", actor=key, subject=key, outcome="failure", origin=origin
            )
            if locked_now:
                audit.record(
                    session,
                    "account.lockout",
                    actor="system",
                    subject=key,
                    outcome="locked",
                    origin=origin,
                )
        return Result.INVALID, None
