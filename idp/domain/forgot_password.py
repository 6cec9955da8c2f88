"""Forgot password's transactions and emails (manual chapter 4): a code to the registered
address, then a new random password and a notice. The rules (matching, lockout, throttling,
codes) are idp.domain.recovery's. Each call is a transaction of its own: call it from a worker
thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from idp.domain.audit import Origin
from idp.domain.recovery import FLOW_TTL, PasswordRecovery, ResetRequest
from idp.domain.thai_dates import format_datetime
from idp.domain.transitions import Enqueue
from idp.storage.db import Database


@dataclass(frozen=True)
class ForgotPassword:
    db: Database
    recovery: PasswordRecovery
    enqueue: Enqueue  # an email in the caller's transaction
    wake: Callable[[], None]  # the mail sender, once the transaction has committed

    def request(self, user_id: str, national_id: str, email: str, origin: Origin) -> ResetRequest:
        """A flow, and a code emailed when the details match (the same answer either way)."""
        with self.db.session() as session:
            result = self.recovery.request(session, user_id, national_id, email, origin)
            self._send_code(session, result)
        self.wake()
        return result

    def resend_wait(self, flow_id: str) -> int:
        return self.recovery.resend_wait(flow_id)

    def resend(self, flow_id: str) -> None:
        result = self.recovery.resend(flow_id)
        with self.db.session() as session:
            self._send_code(session, result)
        self.wake()

    def complete(self, flow_id: str, code: str, origin: Origin) -> str:
        """The right code: a new password emailed, and a notice; the user's ID (the caller
        signs them out everywhere)."""
        with self.db.session() as session:
            user, password, email = self.recovery.complete(session, flow_id, code, origin)
            now = datetime.now(UTC)
            self.enqueue(session, "password_new", email, user_id=user.user_id, password=password)
            self.enqueue(
                session,
                "password_reset_notice",
                email,
                user_id=user.user_id,
                ip=origin.ip or "-",
                when_th=format_datetime(now, "th"),
                when_en=format_datetime(now, "en"),
            )
            user_id = str(user.user_id)
        self.wake()
        return user_id

    def _send_code(self, session: Session, result: ResetRequest) -> None:
        if result.code is None or result.email is None:
            return
        expires = datetime.fromtimestamp(datetime.now(UTC).timestamp() + FLOW_TTL, UTC)
        self.enqueue(
            session,
            "reset_otp",
            result.email,
            otp=result.code,
            user_id=result.user_id or "",
            expires_th=format_datetime(expires, "th"),
            expires_en=format_datetime(expires, "en"),
        )
