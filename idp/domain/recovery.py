"""Forgot password (manual chapter 4): user ID + national ID + registered email → a code by
email → a new random password by email, to be changed at the next sign-in.

The answer is the same whether or not the details match (no account enumeration); 5 wrong
entries lock the user ID for 5 minutes, counted atomically. One client IP is only throttled, at
a much higher limit (security.ip_attempts requests per ip_window_seconds, 50 per 5 minutes by
default): an office's users share one public address, and their wrong entries must not lock a
colleague's correct request. A reset never removes the push factor. Only an account the
lifecycle lets reset its password (an approved registration, or a phone) can match: not a
disabled one, not a cancelled one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import audit, national_id, otp
from idp.domain.accounts import issue_random_password
from idp.domain.audit import Origin
from idp.domain.errors import Message, UserFacingError
from idp.domain.lockout import Lockout
from idp.domain.otp import OneTimeCodes
from idp.storage.expiring import ExpiringStore
from idp.storage.models import Registration, User

FLOW_TTL = otp.TTL
MAILS_PER_HOUR = 5  # codes emailed to one account
GUESSES = 5  # wrong codes for one account, across all its flows, per GUESS_WINDOW
GUESS_WINDOW = 300
SENT = Message(
    "If the details match, a code has been sent to the registered email.",
)
LOCKED = Message(
    "too many wrong entries: this account is locked for 5 minutes",
)
THROTTLED = Message(
    "too many requests from this network: wait a few minutes and try again",
)


@dataclass(frozen=True)
class ResetRequest:
    flow_id: str
    code: str | None  # only when the details matched: the caller emails it
    email: str | None
    user_id: str | None = None  # whose code it is, when the details matched


def registered_email(session: Session, user: User) -> tuple[str | None, str]:
    """(national ID, registered email) from the user's approved registration."""
    found = session.scalars(
        select(Registration)
        .where(
            Registration.user_id == user.user_id,
            Registration.national_id.is_not(None),
            Registration.status.in_(("approved", "activated")),
        )
        .order_by(Registration.attempt.desc())
        .limit(1)
    ).first()
    if found is None:
        return None, user.email
    return found.national_id, (found.email or user.email)


class PasswordRecovery:
    """`by_user` locks a user ID after the account limit of wrong entries; `by_ip` counts every
    request from one client IP against the much higher IP limit (its Limits.attempts)."""

    def __init__(
        self,
        store: ExpiringStore,
        codes: OneTimeCodes,
        by_user: Lockout,
        by_ip: Lockout,
        may_reset: Callable[[Session, User], bool],
    ) -> None:
        self._store = store
        self._codes = codes
        self._by_user = by_user
        self._by_ip = by_ip
        self._may_reset = may_reset  # the account lifecycle's answer

    def _mail_allowed(self, account: str) -> bool:
        """At most MAILS_PER_HOUR codes an hour reach one account's mailbox, whatever the
        number of flows: a flood of requests must not flood the victim's inbox."""
        return self._store.increment("forgot-mail:" + account, 3600) <= MAILS_PER_HOUR

    def _guess_allowed(self, account: str) -> bool:
        """Wrong codes are counted per account across flows (a new flow is no new chance)."""
        guesses = self._store.get("forgot-guesses:" + account) or {}
        return int(guesses.get("count", 0)) < GUESSES

    def _wrong_guess(self, account: str) -> None:
        self._store.increment("forgot-guesses:" + account, GUESS_WINDOW)

    def request(
        self, session: Session, user_id: str, raw_id: str, email: str, origin: Origin
    ) -> ResetRequest:
        account = user_id.strip().upper()[:32] or "-"
        ip = origin.ip or "unknown"
        # the address first, so a throttled one takes no slot from the user IDs it names; both
        # pass the real IP (None would count every client's failures under one shared key)
        by_ip = self._by_ip.reserve(ip, ip)
        if not by_ip.allowed:
            raise UserFacingError(THROTTLED)
        by_user = self._by_user.reserve(account, ip)
        if not by_user.allowed:
            raise UserFacingError(LOCKED)
        user = session.get(User, account)
        nid, registered = registered_email(session, user) if user else (None, "")
        matches = (
            user is not None
            and self._may_reset(session, user)
            and nid is not None
            and nid == national_id.normalise(raw_id)
            and registered.casefold() == email.strip().casefold()
        )
        flow_id = secrets.token_urlsafe(24)
        self._store.put(
            "forgot:" + flow_id,
            {"user_id": account if matches else None, "email": registered if matches else None},
            FLOW_TTL,
        )
        audit.record(
            session,
            "password.forgot",
            actor=account,
            subject=account,
            origin=origin,
            outcome="success" if matches else "failure",
        )
        code, _expires = self._codes.issue(flow_id)  # the same work either way
        if not matches:
            self._by_user.failed(account, ip, by_user)
            self._by_ip.failed(ip, ip, by_ip)
            return ResetRequest(flow_id, None, None)  # nobody receives this code
        self._by_user.succeeded(account)  # not by_ip: that would clear the whole office's count
        if not self._mail_allowed(account):
            return ResetRequest(flow_id, None, None)  # the same answer; no more mail this hour
        return ResetRequest(flow_id, code, registered, account)

    def resend_wait(self, flow_id: str) -> int:
        """Seconds before this flow may ask for a new code (the same for every flow ID, known
        or not: the page tells nothing about the details typed)."""
        return self._codes.resend_wait(flow_id) if len(flow_id) < 64 else 0

    def resend(self, flow_id: str) -> ResetRequest:
        flow = self._store.get("forgot:" + flow_id) if len(flow_id) < 64 else None
        if flow is None:
            raise UserFacingError(otp.WRONG)
        code, _expires = self._codes.issue(flow_id)
        matched = flow["user_id"] is not None and self._mail_allowed(str(flow["user_id"]))
        return ResetRequest(flow_id, code if matched else None, flow["email"], flow["user_id"])

    def complete(
        self, session: Session, flow_id: str, code: str, origin: Origin
    ) -> tuple[User, str, str]:
        """(user, new password, registered email) once the code is right."""
        flow = self._store.get("forgot:" + flow_id) if len(flow_id) < 64 else None
        account = str((flow or {}).get("user_id") or "")
        if account and not self._guess_allowed(account):
            raise UserFacingError(LOCKED, "otp")
        if (
            flow is None
            or self._codes.verify(flow_id, code, origin.ip) is None
            or flow["user_id"] is None
        ):
            if account:
                self._wrong_guess(account)
            raise UserFacingError(otp.WRONG, "otp")
        self._store.delete("forgot:" + flow_id)
        user = session.get(User, flow["user_id"])
        if user is None or not self._may_reset(session, user):  # disabled or cancelled since
            raise UserFacingError(otp.WRONG, "otp")
        password = issue_random_password(session, user)
        audit.record(
            session, "password.reset", actor=user.user_id, subject=user.user_id, origin=origin
        )
        return user, password, str(flow["email"])
