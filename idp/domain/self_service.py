"""A user's own account (README, "Account self-service"): what the account page shows, and
what the user changes themselves — the forced password change, the language, a new email
address confirmed from its link, cancelling Soft Token (manual chapter 5). Where the account
stands in the lifecycle is idp.core.Core.account. Each call is a transaction of its own: call
it from a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import accounts, audit
from idp.domain.audit import Origin
from idp.domain.errors import Message
from idp.domain.lifecycle import Account, latest_registration
from idp.domain.transitions import Enqueue, Lifecycle
from idp.storage.db import Database
from idp.storage.expiring import ExpiringStore
from idp.storage.models import AuditEvent, Client, Grant, User

CANCEL_REASONS = {
    "details_changed": Message("my own details changed"),
    "holder_changed": Message("the holder resigned or moved"),
    "email_changed": Message("change of email"),
    "new_phone": Message("a new phone"),
}
SHOWN_EVENTS = (  # the security events the account page lists
    "login.password",
    "account.lockout",
    "password.change",
    "password.reset",
    "device.activate",
    "device.revoke",
    "device.certificate_renewed",
    "passkey.add",
    "passkey.rename",
    "passkey.remove",
    "passkey.refused",
    "push.not_me",
    "sessions.end_all",
    "registration.approve",
    "registration.reject",
)
RECENT = 20  # applications and events the page shows
EMAIL_CHANGE = "email-change:"  # the link's token, kept in the expiring store


@dataclass(frozen=True)
class Overview:
    user: User | None
    grants: list[Any]  # (grant, the client's name), newest first
    events: list[AuditEvent]
    account: Account | None
    device: Any  # push_auth's device, or None


@dataclass(frozen=True)
class SelfService:
    db: Database
    store: ExpiringStore
    lifecycle: Lifecycle
    enqueue: Enqueue  # an email in the caller's transaction
    wake: Callable[[], None]  # the mail sender, once the transaction has committed
    active_device: Callable[[str], Any]  # push_auth: the user's current device, or None
    revoke_device: Callable[..., Any]  # push_auth: revoke(user_id, reason, actor=…)
    issuer: str

    # -- queries ---------------------------------------------------------------------------
    def overview(self, user_id: str) -> Overview:
        """The record, signed-in applications, recent security events and the device."""
        with self.db.read() as session:
            user = session.get(User, user_id)
            grants = _applications(session, user_id)
            events = _events(session, user_id)
            account = self.lifecycle.account(session, user) if user else None
        return Overview(user, grants, events, account, self.active_device(user_id))

    # -- commands --------------------------------------------------------------------------
    def change_password(
        self, user_id: str, current: str, new: str, confirm: str, origin: Origin
    ) -> None:
        """The forced change at sign-in; a UserFacingError names the field at fault."""
        with self.db.session() as session:
            user = self.lifecycle.user(session, user_id)[0]
            accounts.change_password(session, user, current, new, confirm, origin)

    def set_locale(self, user_id: str, locale: str) -> None:
        with self.db.session() as session:
            user = session.get(User, user_id)
            if user is not None:
                user.locale = locale

    def confirm_email(self, token: str, origin: Origin) -> str | None:
        """The link an officer's email change sent to the new address was opened: the new
        address, or None for a link expired or used."""
        pending = self.store.consume(EMAIL_CHANGE + token)
        if pending is None:
            return None
        with self.db.session() as session:
            user = session.get(User, pending["user_id"])
            if user is None:
                return None
            user.email = str(pending["email"])
            user.updated_at = datetime.now(UTC)
            latest = latest_registration(session, user.user_id)
            if latest is not None and latest.email_verified_at is not None:
                latest.email, latest.email_verified_at = user.email, datetime.now(UTC)
            audit.record(
                session,
                "user.email_changed",
                actor=user.user_id,
                subject=user.user_id,
                origin=origin,
            )
            return user.email

    def cancel_soft_token(self, user_id: str, reason: str, origin: Origin) -> None:
        """Manual chapter 5: the device revoked, the registration ended, an email to the
        registered address (the caller signs the user out everywhere). NotAllowed when the
        lifecycle refuses; `reason` is one of CANCEL_REASONS."""
        with self.db.session() as session:
            user = self.lifecycle.user(session, user_id)[0]
            self.lifecycle.cancel_soft_token(
                session,
                user,
                reason,
                revoke=lambda: self.revoke_device(user_id, "self:" + reason, actor=user_id),
                enqueue=self.enqueue,
                message=CANCEL_REASONS[reason],
                link=self.issuer + "/register",
                origin=origin,
            )
        self.wake()


def _applications(session: Session, user_id: str) -> list[Any]:
    return list(
        session.execute(
            select(Grant, Client.name)
            .join(Client, Client.client_id == Grant.client_id)
            .where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
            .order_by(Grant.created_at.desc())
            .limit(RECENT)
        ).all()
    )


def _events(session: Session, user_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject == user_id, AuditEvent.action.in_(SHOWN_EVENTS))
            .order_by(AuditEvent.id.desc())
            .limit(RECENT)
        )
    )
