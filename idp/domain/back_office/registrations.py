"""Registrations in the back office (manual chapter 2, step 4): those waiting for an officer,
one beside the user record and the proofing result with the differences marked, its uploaded
assignment order, and the officer's decision, emailed to the user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idp.domain import national_id, registration
from idp.domain.back_office.listing import Page, iso, keyset
from idp.domain.back_office.ports import Mail
from idp.domain.errors import Message, NotFound
from idp.domain.names import normalise_name
from idp.domain.users import public_record
from idp.storage.db import Database
from idp.storage.models import Registration, User

NO_REGISTRATION = Message("no such registration")


def find(session: Session, registration_id: str) -> Registration:
    found = session.get(Registration, registration_id)
    if found is None:
        raise NotFound(NO_REGISTRATION, "id")
    return found


@dataclass(frozen=True)
class Registrations:
    db: Database
    mail: Mail
    issuer: str
    four_eyes: bool  # an approval needs two different officers

    # -- queries ---------------------------------------------------------------------------
    def search(self, status: str, text: str, limit: int, after: str | None) -> Page:
        """By status, optionally one user's (`text`: a user ID or a national ID)."""
        query = select(Registration).where(Registration.status == status)
        if text:
            query = query.where(
                or_(
                    Registration.user_id == text.upper(),
                    Registration.national_id == national_id.normalise(text),
                )
            )
        return keyset(self.db, query, Registration.id, after, limit, registration.summary)

    def detail(self, registration_id: str) -> dict[str, Any]:
        """One registration beside the user record and the proofing result, differences
        marked."""
        with self.db.read() as session:
            found = find(session, registration_id)
            user = session.get(User, found.user_id)
            assert user is not None
            proofing = found.proofing or {}
            claims = proofing.get("claims") or {}
            return {
                "registration": _whole(found),
                "user": public_record(user),
                "proofing": {
                    "issuer": proofing.get("issuer"),
                    "assurance_level": proofing.get("assurance_level"),
                    "claims": claims,
                },
                "comparison": _compare(found, user, claims),
            }

    def assignment_order(self, registration_id: str) -> str | None:
        """The SHA-256 of the registration's uploaded assignment order, if any."""
        with self.db.read() as session:
            found = session.get(Registration, registration_id)
            return found.upload_sha256 if found else None

    # -- commands --------------------------------------------------------------------------
    def decide(
        self, registration_id: str, approve: bool, reason: str, officer: str
    ) -> dict[str, Any]:
        """Approve or reject (a reason required); the user is emailed once it is decided."""
        with self.db.session() as session:
            found = find(session, registration_id)
            registration.decide(session, found, approve, reason, officer, self.four_eyes)
            user = session.get(User, found.user_id)
            assert user is not None
            self.mail.registration_decided(session, found, user, self.issuer)
            return registration.summary(found)


def _whole(found: Registration) -> dict[str, Any]:
    return {
        **registration.summary(found),
        "created_at": iso(found.created_at),
        "consent_version": found.consent_version,
        "email_verified_at": iso(found.email_verified_at),
        "upload_size": found.upload_size,
        "address": found.address,
        "decision_reason": found.decision_reason,
        "decided_by": found.decided_by,
        "decided_at": iso(found.decided_at),
    }


def _compare(found: Registration, user: User, claims: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's value and the proofed value of each field that both have."""
    rows = [
        ("national_id", found.national_id, claims.get("national_id")),
        ("name_th", user.name_th, claims.get("name_th")),
        ("name_en", user.name_en, claims.get("name_en")),
    ]
    return [
        {
            "field": name,
            "record": ours,
            "proofed": theirs,
            "same": theirs is None
            or normalise_name(str(ours or "")) == normalise_name(str(theirs)),
        }
        for name, ours, theirs in rows
    ]
