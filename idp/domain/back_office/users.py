"""Users in the back office: found by whatever an officer types, shown whole (record, lifecycle,
registrations, device, signed-in applications, audit trail), and changed through the account
lifecycle: disabled or enabled, a new password emailed, the assignment order on file, a CSV
import with a preview."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from idp.domain import national_id, registration
from idp.domain.audit import Origin
from idp.domain.back_office.listing import Page, iso, keyset
from idp.domain.back_office.ports import Device, Mail, PushDevices
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.lifecycle import OfficerAction
from idp.domain.recovery import registered_email
from idp.domain.transitions import Lifecycle
from idp.domain.users import import_users, lifecycle_record, public_record
from idp.domain.validation import USER_ID
from idp.storage.db import Database
from idp.storage.models import AuditEvent, Grant, Registration, User

UNREADABLE_CSV = Message("the CSV file could not be read")
NO_ROWS = Message("the file has no user rows")
NO_USER = Message("no such user")
TRAIL = 50  # the audit events a user's record shows


def find(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(NO_USER, "user_id")
    return user


def matching(text: str) -> ColumnElement[bool]:
    """One indexed condition for the kind of text typed: a user ID, a national ID, an email, or
    else the start of a Thai or English name."""
    if USER_ID.fullmatch(text.upper()):
        return User.user_id == text.upper()
    digits = national_id.normalise(text)
    if digits.isdigit() and len(digits) == 13:
        return User.user_id.in_(
            select(Registration.user_id).where(Registration.national_id == digits)
        )
    if "@" in text:
        return User.email == text.lower()
    return or_(User.name_th.startswith(text), User.name_en.startswith(text))


@dataclass(frozen=True)
class Users:
    db: Database
    lifecycle: Lifecycle
    devices: PushDevices
    mail: Mail

    # -- queries ---------------------------------------------------------------------------
    def search(self, text: str, limit: int, after: str | None) -> Page:
        query = select(User).where(matching(text)) if text else select(User)
        return keyset(self.db, query, User.user_id, after, limit, public_record)

    def detail(self, user_id: str) -> dict[str, Any]:
        """The record, its place in the lifecycle (state, the user's abilities, the officer's
        actions), registration history, device, signed-in applications and audit trail."""
        with self.db.read() as session:
            user = find(session, user_id)
            data: dict[str, Any] = {
                "user": public_record(user),
                "lifecycle": lifecycle_record(self.lifecycle.account(session, user)),
                "registrations": _registrations(session, user_id),
                "applications": _applications(session, user_id),
                "audit": _trail(session, user_id),
            }
        data["device"] = _device(self.devices.active(user_id))
        return data

    def require(self, user_id: str) -> None:
        """NotFound unless the user exists."""
        with self.db.read() as session:
            find(session, user_id)

    # -- commands --------------------------------------------------------------------------
    def set_in_service(
        self, user_id: str, in_service: bool, officer: str, origin: Origin
    ) -> dict[str, Any]:
        """Disabled (nothing works until enabled again; the caller signs the user out
        everywhere) or enabled. Nobody disables themselves, nor the last admin."""
        with self.db.session() as session:
            user, _account = self.lifecycle.user(session, user_id)
            self.lifecycle.set_in_service(session, user, in_service, officer, origin)
            return public_record(user)

    def reset_password(self, user_id: str, officer: str, origin: Origin) -> str:
        """A new random password, emailed to the registered address; the officer never sees it
        (ASVS 6.4.6). Returns the user ID (the caller wakes the mail and signs the user out)."""
        with self.db.session() as session:
            user, account = self.lifecycle.user(session, user_id)
            account.require_officer(OfficerAction.RESET_PASSWORD)
            password = self.lifecycle.issue_temporary_password(
                session, user, "officer", actor=officer, origin=origin
            )
            email = registered_email(session, user)[1]
            self.mail.enqueue(
                session, "password_new", email, user_id=user.user_id, password=password
            )
            return str(user.user_id)

    def mark_assignment_order(
        self, user_id: str, on_file: bool, officer: str, origin: Origin
    ) -> dict[str, Any]:
        """The written assignment order is (or is no longer) on file."""
        with self.db.session() as session:
            user, _account = self.lifecycle.user(session, user_id)
            self.lifecycle.mark_assignment_order(session, user, on_file, officer, origin)
            return {
                "user_id": user_id,
                "assignment_order_on_file": on_file,
                "lifecycle": lifecycle_record(self.lifecycle.account(session, user)),
            }

    def import_csv(self, text: str, officer: str, preview: bool) -> dict[str, Any]:
        """All or nothing; with `preview`, every row checked and nothing changed."""
        with self.db.session() as session:
            try:
                result = import_users(session, text, officer)
            except csv.Error as exc:  # a field over the csv module's limit, say
                raise UserFacingError(UNREADABLE_CSV, "file") from exc
            if not result.imported and not result.errors:
                raise UserFacingError(NO_ROWS, "file")
            errors = [
                {"line": e.line, "column": e.column, "th": e.message.th, "en": e.message.en}
                for e in result.errors
            ]
            if preview or errors:
                session.rollback()
                return {"imported": [], "would_import": len(result.imported), "errors": errors}
            return {"imported": result.imported, "errors": []}


def _registrations(session: Session, user_id: str) -> list[dict[str, Any]]:
    history = session.scalars(
        select(Registration)
        .where(Registration.user_id == user_id)
        .order_by(Registration.attempt.desc())
    )
    return [registration.summary(r) for r in history]


def _applications(session: Session, user_id: str) -> list[dict[str, Any]]:
    grants = session.scalars(
        select(Grant).where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
    )
    return [{"client_id": g.client_id, "since": iso(g.created_at), "acr": g.acr} for g in grants]


def _trail(session: Session, user_id: str) -> list[dict[str, Any]]:
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject == user_id)
        .order_by(AuditEvent.id.desc())
        .limit(TRAIL)
    )
    return [
        {"at": iso(e.at), "action": e.action, "actor": e.actor, "outcome": e.outcome, "ip": e.ip}
        for e in events
    ]


def _device(device: Device | None) -> dict[str, Any] | None:
    if device is None:
        return None
    return {
        "device_id": device.device_id,
        "status": device.status,
        "model": device.model,
        "activated": iso(device.created_at),
        "not_after": iso(device.not_after),
    }
