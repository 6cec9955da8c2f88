"""Registration (manual chapter 2): one durable record per attempt, five steps.

1. national ID (check digit), PDPA consent (recorded), the written assignment order as a PDF
   when it is not on file;  2. identity proofing at the upstream IdP;  3. address and email,
   the email verified by a one-time code;  4. approval;  5. activation of the Soft Token app.
A rejected registration keeps its record and the user starts again at step 1 with a new one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import audit, national_id, otp
from idp.domain.audit import Origin
from idp.domain.errors import Message, UserFacingError
from idp.domain.lifecycle import current_device, latest_registration, needs_assignment_order
from idp.domain.names import normalise_name
from idp.domain.otp import OneTimeCodes
from idp.storage.models import Registration, User

CONSENT_VERSION = "2569-1"
CONSENT_TEXT_TH = (
    "ข้าพเจ้ายินยอมให้กรมบัญชีกลางเก็บรวบรวม ใช้ และเปิดเผยข้อมูลส่วนบุคคลของข้าพเจ้า ได้แก่ "
    "เลขประจำตัวประชาชน ชื่อ-นามสกุล ที่อยู่ อีเมล และผลการพิสูจน์ยืนยันตัวตน "
    "เพื่อการลงทะเบียนและการยืนยันตัวตนเข้าใช้งานระบบ New GFMIS Thai ด้วย Soft Token "
    "ตามพระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562 ข้าพเจ้าทราบว่าสามารถถอนความยินยอมได้ "
    "โดยการยกเลิก Soft Token"
)
CONSENT_TEXT_EN = (
    "I consent to the Comptroller General's Department collecting, using and disclosing my "
    "personal data (national ID, name, address, email and the result of identity proofing) to "
    "register me and to authenticate me to New GFMIS Thai with Soft Token, under the Personal "
    "Data Protection Act B.E. 2562. I know I can withdraw this consent by cancelling Soft Token."
)
CONSENT_SHA256 = hashlib.sha256((CONSENT_TEXT_TH + "\n" + CONSENT_TEXT_EN).encode()).hexdigest()

STEPS = (1, 2, 3, 4, 5)


def _error(message: Message, field: str | None = None) -> UserFacingError:
    return UserFacingError(message, field)


@dataclass(frozen=True)
class StepState:
    number: int
    state: str  # done | current | waiting | locked | rejected


def steps_of(registration: Registration) -> list[StepState]:
    """What the wizard shows for each of the five steps."""
    if registration.status == "rejected":
        return [
            StepState(n, "rejected" if n == 4 else "done" if n < 4 else "locked") for n in STEPS
        ]
    done = {
        1: registration.national_id is not None and registration.consent_at is not None,
        2: registration.proofing_status == "completed",
        3: registration.email_verified_at is not None
        and registration.status in ("waiting_approval", "approved", "activated"),
        4: registration.status in ("approved", "activated"),
        5: registration.status == "activated",
    }
    states, current_seen = [], False
    for n in STEPS:
        if done[n]:
            states.append(StepState(n, "done"))
        elif not current_seen:
            waiting = n == 4 and registration.status == "waiting_approval"
            states.append(StepState(n, "waiting" if waiting else "current"))
            current_seen = True
        else:
            states.append(StepState(n, "locked"))
    return states


def current_step(registration: Registration) -> int:
    return next((s.number for s in steps_of(registration) if s.state in ("current", "waiting")), 5)


def open_registration(session: Session, user_id: str) -> Registration:
    """The user's registration in progress, or a new attempt (after a rejection, say)."""
    latest = latest_registration(session, user_id)
    # An activated registration whose phone was revoked without ending it (a failure between
    # the two writes) counts as ended: the user registers again, never re-pairs by password.
    revoked = latest is not None and latest.status == "activated"
    revoked = revoked and current_device(session, user_id) is None
    if latest is not None and latest.status not in ("rejected", "cancelled") and not revoked:
        return latest
    now = datetime.now(UTC)
    registration = Registration(
        id=secrets.token_hex(16),  # never starts with "-", which a command line takes for an option
        user_id=user_id,
        attempt=(latest.attempt + 1) if latest else 1,
        status="in_progress",
        created_at=now,
        updated_at=now,
    )
    session.add(registration)
    session.flush()
    return registration


@dataclass(frozen=True)
class StoredUpload:
    sha256: str
    size: int


def submit_identity(
    session: Session,
    registration: Registration,
    user: User,
    raw_id: str,
    consent: bool,
    upload: StoredUpload | None,
    origin: Origin,
) -> None:
    """Step 1: the national ID, the consent, and the assignment order when not on file."""
    if current_step(registration) != 1:
        raise _error(Message("this step is already done"))
    if problem := national_id.problem(raw_id):
        raise UserFacingError(problem, "national_id")
    if _held_by_another(session, national_id.normalise(raw_id), user.user_id):
        raise _error(
            Message(
                "this national ID is already registered for Soft Token under another "
                "user ID: contact the Comptroller General's Department"
            ),
            "national_id",
        )
    if not consent:
        raise _error(
            Message("without your consent the registration cannot continue"),
            "consent",
        )
    if needs_assignment_order(user) and upload is None:
        raise _error(
            Message("attach the written assignment order as a PDF"),
            "assignment_order",
        )
    now = datetime.now(UTC)
    registration.national_id = national_id.normalise(raw_id)
    registration.consent_version = CONSENT_VERSION
    registration.consent_text_sha256 = CONSENT_SHA256
    registration.consent_at = now
    registration.consent_ip = origin.ip
    registration.consent_user_agent = (origin.user_agent or "")[:300] or None
    if upload is not None:
        registration.upload_sha256, registration.upload_size = upload.sha256, upload.size
    registration.updated_at = now
    audit.record(
        session,
        "registration.identity",
        actor=user.user_id,
        subject=user.user_id,
        origin=origin,
        registration=registration.id,
        version=CONSENT_VERSION,
        upload=upload.sha256 if upload else None,
    )


LIVE = ("waiting_approval", "approved", "activated")


def _held_by_another(session: Session, pid: str, user_id: str) -> bool:
    """Another user ID has a registration under way or in force for this person."""
    return (
        session.scalars(
            select(Registration.id).where(
                Registration.national_id == pid,
                Registration.user_id != user_id,
                Registration.status.in_(LIVE),
            )
        ).first()
        is not None
    )


def record_declined_consent(session: Session, user_id: str, origin: Origin) -> None:
    audit.record(
        session,
        "registration.consent_declined",
        actor=user_id,
        subject=user_id,
        outcome="declined",
        origin=origin,
        version=CONSENT_VERSION,
    )


class EmailVerification:
    """Step 3's one-time code (rules in idp.domain.otp), and who may use an email."""

    def __init__(self, codes: OneTimeCodes) -> None:
        self.codes = codes

    def issue(self, session: Session, registration: Registration, email: str) -> tuple[str, int]:
        """A new code for this email; refuses an email bound to another person."""
        taken = session.scalars(
            select(Registration).where(
                Registration.email == email,
                Registration.email_verified_at.is_not(None),
                Registration.national_id != registration.national_id,
            )
        ).first()
        if taken is not None:
            raise _error(
                Message("this email belongs to someone else: use your own"),
                "email",
            )
        return self.codes.issue(registration.id, email=email)

    def verify(
        self, session: Session, registration: Registration, code: str, origin: Origin
    ) -> None:
        confirmed = self.codes.verify(registration.id, code, origin.ip)
        if confirmed is None:
            audit.record(
                session,
                "registration.email_otp",
                actor=registration.user_id,
                subject=registration.user_id,
                outcome="failure",
                origin=origin,
            )
            raise UserFacingError(otp.WRONG, "otp")
        registration.email = str(confirmed["email"])
        registration.email_verified_at = datetime.now(UTC)
        registration.updated_at = datetime.now(UTC)
        audit.record(
            session,
            "registration.email_verified",
            actor=registration.user_id,
            subject=registration.user_id,
            origin=origin,
        )


def summary(registration: Registration) -> dict[str, Any]:
    return {
        "id": registration.id,
        "user_id": registration.user_id,
        "attempt": registration.attempt,
        "status": registration.status,
        "step": current_step(registration),
        "national_id": registration.national_id,
        "email": registration.email,
        "proofing_status": registration.proofing_status,
        "upload_sha256": registration.upload_sha256,
        "first_approval_by": registration.first_approval_by,
    }


def record_proofing(
    session: Session, registration: Registration, user: User, result: Any, origin: Origin
) -> str:
    """Step 2's outcome: completed, or id_mismatch. A name that differs from the record is
    not a failure: it sends the registration to an officer at step 4."""
    claims = result.claims
    proofed_id = national_id.normalise(str(claims.get("national_id") or ""))
    record = {
        "issuer": result.issuer,
        "subject": result.subject,
        "claims": claims,
        "assurance_level": result.assurance_level,
        "time": result.verified_at,
    }
    if proofed_id != registration.national_id:
        registration.proofing_status = "id_mismatch"
        registration.proofing = {**record, "claims": {"national_id_matches": False}}
        outcome = "failure"
    else:
        names_match = normalise_name(str(claims.get("name_th") or "")) == normalise_name(
            user.name_th
        )
        registration.proofing_status = "completed"
        registration.proofing = {**record, "names_match": names_match}
        address = claims.get("address")
        registration.address = address if isinstance(address, dict) else None
        outcome = "success"
    registration.updated_at = datetime.now(UTC)
    audit.record(
        session,
        "registration.proofing",
        actor=user.user_id,
        subject=user.user_id,
        outcome=outcome,
        origin=origin,
        issuer=result.issuer,
        status=registration.proofing_status,
    )
    return str(registration.proofing_status)


def needs_officer(registration: Registration, user: User) -> bool:
    """Step 4 is automatic only with the assignment order on file and a matching identity."""
    names_match = bool((registration.proofing or {}).get("names_match"))
    return needs_assignment_order(user) or not names_match


def confirm(session: Session, registration: Registration, user: User, origin: Origin) -> str:
    """Step 3's confirmation: waiting for an officer, or approved at once."""
    if registration.email_verified_at is None or registration.proofing_status != "completed":
        raise _error(Message("verify your email first"), "email")
    now = datetime.now(UTC)
    if needs_officer(registration, user):
        registration.status = "waiting_approval"
    else:
        registration.status = "approved"
        registration.decided_by, registration.decided_at = "automatic", now
    registration.updated_at = now
    audit.record(
        session,
        "registration.confirm",
        actor=user.user_id,
        subject=user.user_id,
        origin=origin,
        status=registration.status,
    )
    return registration.status


def decide(
    session: Session,
    registration: Registration,
    approve: bool,
    reason: str,
    officer: str,
    four_eyes: bool = False,
) -> str:
    """An officer's decision at step 4 (a reason is required to reject). With four eyes, the
    first approval waits for a second, different officer; a rejection is always final.
    Returns the registration's status afterwards."""
    if registration.status != "waiting_approval":
        raise _error(Message("this registration is not waiting for approval"))
    if not approve and not reason.strip():
        raise _error(Message("a reason is required to reject"), "reason")
    now = datetime.now(UTC)
    if approve and four_eyes and registration.first_approval_by is None:
        registration.first_approval_by, registration.first_approval_at = officer, now
        registration.updated_at = now
        audit.record(
            session, "registration.approve_first", actor=officer, subject=registration.user_id
        )
        return str(registration.status)
    if approve and four_eyes and registration.first_approval_by == officer:
        raise _error(
            Message("another officer must confirm this approval (four eyes)"),
            "officer",
        )
    registration.status = "approved" if approve else "rejected"
    registration.decision_reason = reason.strip()[:500] or None
    registration.decided_by, registration.decided_at, registration.updated_at = officer, now, now
    audit.record(
        session,
        "registration.approve" if approve else "registration.reject",
        actor=officer,
        subject=registration.user_id,
        reason=registration.decision_reason,
        first_approval_by=registration.first_approval_by,
    )
    return str(registration.status)


def previous_attempt(session: Session, registration: Registration) -> Registration | None:
    """The attempt before this one (a rejection the wizard explains), if any."""
    if registration.attempt <= 1:
        return None
    return session.scalars(
        select(Registration).where(
            Registration.user_id == registration.user_id,
            Registration.attempt == registration.attempt - 1,
        )
    ).first()


def latest_proofing(session: Session, user_id: str) -> dict[str, Any] | None:
    """The proofing result of the user's approved registration, for verified_claims."""
    found = session.scalars(
        select(Registration)
        .where(
            Registration.user_id == user_id,
            Registration.proofing_status == "completed",
            Registration.status.in_(("approved", "activated")),
        )
        .order_by(Registration.attempt.desc())
        .limit(1)
    ).first()
    return found.proofing if found else None
