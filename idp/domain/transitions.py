"""The lifecycle's transitions: each asks `idp.domain.lifecycle` whether it is allowed now,
changes the records, and writes its audit row (and email, through the caller's mailer) in the
caller's transaction; a refusal raises `NotAllowed` and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from idp.domain import audit, officers
from idp.domain.accounts import issue_random_password
from idp.domain.audit import SYSTEM, Origin
from idp.domain.clock import Clock
from idp.domain.errors import Message, NotFound
from idp.domain.lifecycle import (
    HOLDER_CHANGED_REASON,
    NOT_ALLOWED,
    Ability,
    Account,
    NotAllowed,
    OfficerAction,
    State,
    account_of,
    in_service,
    latest_registration,
)
from idp.domain.recovery import registered_email
from idp.domain.thai_dates import format_datetime
from idp.storage.models import User

NO_USER = Message("no user with this ID")

# Enqueue one email in the caller's transaction: (session, kind, to, **values).
Enqueue = Callable[..., None]


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle at the clock's time, with the deployment's renewal warning."""

    clock: Clock
    warning_days: int = 30

    def account(self, session: Session, user: User) -> Account:
        return account_of(session, user, self.clock.now(), self.warning_days)

    def user(self, session: Session, user_id: str) -> tuple[User, Account]:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(NO_USER, "user_id")
        return user, self.account(session, user)

    # -- credentials ---------------------------------------------------------------------
    def issue_initial_password(
        self, session: Session, user: User, via: str, actor: str, origin: Origin = SYSTEM
    ) -> str:
        """A one-time initial password (Login by Token; a new holder): it works for one
        sign-in, which must end in choosing a password."""
        self._refuse_disabled(user)
        password = issue_random_password(session, user)
        user.single_use_password = "issued"
        audit.record(
            session,
            "password.initial_issued",
            actor=actor,
            subject=user.user_id,
            origin=origin,
            via=via,
        )
        return password

    def issue_temporary_password(
        self, session: Session, user: User, via: str, actor: str, origin: Origin = SYSTEM
    ) -> str:
        """A random password to be changed at the next sign-in (forgot password, an officer's
        reset); it replaces any one-time initial password."""
        self._refuse_disabled(user)
        password = issue_random_password(session, user)
        user.single_use_password = None
        audit.record(
            session, "password.reset", actor=actor, subject=user.user_id, origin=origin, via=via
        )
        return password

    @staticmethod
    def _refuse_disabled(user: User) -> None:
        if not in_service(user):
            raise NotAllowed(NOT_ALLOWED[Ability.SIGN_IN], State.DISABLED)

    # -- the device ----------------------------------------------------------------------
    def device_enrolled(self, session: Session, user_id: str) -> None:
        """Step 5 done: the approved registration now has its phone."""
        registration = latest_registration(session, user_id)
        if registration is not None and registration.status == "approved":
            registration.status = "activated"
            registration.updated_at = self.clock.now()

    def cancel_soft_token(
        self,
        session: Session,
        user: User,
        reason: str,
        revoke: Callable[[], Any],
        enqueue: Enqueue,
        message: Message,
        link: str,
        origin: Origin,
    ) -> None:
        """Manual chapter 5: the device is revoked, the registration ends, and the email goes
        to the address the registration verified (read before it ends)."""
        self.account(session, user).require(Ability.CANCEL)
        email = registered_email(session, user)[1]
        revoke()
        self._end_registration(session, user.user_id, reason)
        audit.record(
            session,
            "soft_token.cancel",
            actor=user.user_id,
            subject=user.user_id,
            origin=origin,
            reason=reason,
        )
        now = self.clock.now()
        enqueue(
            session,
            "soft_token_cancelled",
            email,
            user_id=user.user_id,
            reason_th=message.th,
            reason_en=message.en,
            when_th=format_datetime(now, "th"),
            when_en=format_datetime(now, "en"),
            link=link,
        )

    def revoke_device(
        self,
        session: Session,
        user: User,
        reason: str,
        officer: str,
        revoke: Callable[[], Any],
        new_device_allowed: bool,
    ) -> None:
        """An officer revokes the phone. With a processed service request (the signed form
        checked) a new phone may be activated at once; otherwise the user registers again,
        proofing included, so a password alone never pairs a phone."""
        self.account(session, user).require_officer(OfficerAction.REVOKE_DEVICE)
        revoke()
        registration = latest_registration(session, user.user_id)
        # "approved" too: the phone was recorded but the step-5 mark was lost (two writes)
        if registration is not None and registration.status in ("approved", "activated"):
            if new_device_allowed:
                registration.status = "approved"
                registration.updated_at = self.clock.now()
            else:
                self._end_registration(session, user.user_id, "device revoked")
        audit.record(
            session,
            "lifecycle.device_revoked",
            actor=officer,
            subject=user.user_id,
            reason=reason,
            new_device_allowed=new_device_allowed,
        )

    def reset_device_if_any(
        self, session: Session, user: User, reason: str, officer: str, revoke: Callable[[], Any]
    ) -> None:
        """A service request's device reset: revoke the phone if there is one, and let a new
        one be activated (the officer has checked the signed form)."""
        account = self.account(session, user)
        if account.officer_may(OfficerAction.REVOKE_DEVICE):
            self.revoke_device(session, user, reason, officer, revoke, new_device_allowed=True)

    def change_holder(self, session: Session, user: User, officer: str) -> None:
        """A new holder takes the user ID: they register Soft Token again, with an assignment
        order of their own (the one on file named the previous holder)."""
        self._end_registration(session, user.user_id, HOLDER_CHANGED_REASON)
        user.assignment_order_on_file = False
        user.updated_at = self.clock.now()
        audit.record(session, "lifecycle.holder_changed", actor=officer, subject=user.user_id)

    def lift_suspension(
        self, session: Session, user: User, officer: str, lift: Callable[[], Any]
    ) -> None:
        self.account(session, user).require_officer(OfficerAction.LIFT_SUSPENSION)
        lift()

    def mark_assignment_order(
        self, session: Session, user: User, on_file: bool, officer: str, origin: Origin = SYSTEM
    ) -> None:
        """The written assignment order is (or is no longer) on file: step 1 needs no PDF
        and step 4 may approve by itself."""
        self.account(session, user).require_officer(OfficerAction.MARK_ASSIGNMENT_ORDER)
        user.assignment_order_on_file = on_file
        user.updated_at = self.clock.now()
        audit.record(
            session,
            "user.assignment_order",
            actor=officer,
            subject=user.user_id,
            origin=origin,
            on_file=on_file,
        )

    def set_in_service(
        self, session: Session, user: User, in_service: bool, officer: str, origin: Origin
    ) -> None:
        """An officer disables the account (nothing works until it is enabled again: sign-in,
        tokens, roles) or enables it. Nobody disables themselves, nor the last admin."""
        if not in_service:
            officers.refuse_locking_out(session, user, officer)
        user.disabled = not in_service
        user.updated_at = self.clock.now()
        audit.record(
            session,
            "user.enable" if in_service else "user.disable",
            actor=officer,
            subject=user.user_id,
            origin=origin,
        )

    def _end_registration(self, session: Session, user_id: str, reason: str) -> None:
        latest = latest_registration(session, user_id)
        if latest is not None and latest.status not in ("rejected", "cancelled"):
            latest.status = "cancelled"
            latest.decision_reason = reason[:500]
            latest.updated_at = self.clock.now()
