"""The registration wizard's reads and writes (manual chapter 2, steps 1 to 4; step 5 is
activating the app): each a transaction of its own, called from a worker thread. The rules of
every step are idp.domain.registration's; this module opens the transactions, finds the
records and sends the emails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from idp.domain import audit, kept_files
from idp.domain import registration as reg
from idp.domain.audit import Origin
from idp.domain.errors import Message, UserFacingError
from idp.domain.lifecycle import needs_assignment_order
from idp.domain.registration import EmailVerification, StoredUpload
from idp.domain.thai_dates import format_datetime
from idp.domain.transitions import Enqueue
from idp.domain.validation import BAD_EMAIL, normalise_email
from idp.storage.db import Database
from idp.storage.models import Registration, User

NOT_YET = Message("not at this step yet")


@dataclass(frozen=True)
class WizardState:
    registration: Registration  # the attempt in progress (a new one after a rejection)
    user: User
    previous: Registration | None  # the attempt before it, if any
    needs_upload: bool  # step 1 asks for the assignment order (none on file)
    code_sent: bool  # step 3: a code is waiting for this registration's email
    resend_wait: int = 0  # step 3: seconds before a new code may be sent (idp.domain.otp)


@dataclass(frozen=True)
class RegistrationWizard:
    db: Database
    uploads: Path  # where assignment orders are kept (idp.domain.kept_files)
    email_codes: EmailVerification
    enqueue: Enqueue  # an email in the caller's transaction
    wake: Callable[[], None]  # the mail sender, once the transaction has committed
    decided: Callable[[Session, Registration, User, str], None]  # the approval email
    issuer: str  # its link's

    # -- queries ---------------------------------------------------------------------------
    def state(self, user_id: str) -> WizardState:
        """The registration in progress, opened if there is none (hence a write transaction)."""
        with self.db.session() as session:
            registration = reg.open_registration(session, user_id)
            user = _user(session, user_id)
            previous = reg.previous_attempt(session, registration)
        code_sent = reg.current_step(registration) == 3 and self.email_codes.codes.pending(
            registration.id
        )
        wait = self.email_codes.codes.resend_wait(registration.id) if code_sent else 0
        return WizardState(
            registration, user, previous, needs_assignment_order(user), bool(code_sent), wait
        )

    def proofing_status(self, user_id: str) -> str | None:
        """What the polling page asks every 1.5 s: only the registration, not its user."""
        with self.db.session() as session:  # open_registration may create the record
            return reg.open_registration(session, user_id).proofing_status

    # -- step 1: the national ID, consent, the assignment order ------------------------------
    def submit_identity(
        self,
        user_id: str,
        national_id: str,
        consent: bool,
        stored: StoredUpload | None,
        origin: Origin,
    ) -> None:
        if not consent:  # recorded in a transaction of its own, then refused
            with self.db.session() as session:
                reg.record_declined_consent(session, user_id, origin)
        with self.db.session() as session:
            registration = reg.open_registration(session, user_id)
            user = _user(session, user_id)
            reg.submit_identity(session, registration, user, national_id, consent, stored, origin)

    def discard_upload(self, digest: str) -> None:
        """A refused step 1: keep no file that nothing names."""
        with self.db.read() as session:
            kept_files.discard(session, self.uploads, digest)

    # -- step 2: proofing at the upstream identity provider --------------------------------
    def record_proofing(self, registration_id: str, result: object, origin: Origin) -> str:
        """The upstream's answer for this registration; its proofing status."""
        with self.db.session() as session:
            registration = session.get(Registration, registration_id)
            assert registration is not None
            user = _user(session, registration.user_id)
            return reg.record_proofing(session, registration, user, result, origin)

    def proofing_failed(self, reason: str, origin: Origin) -> None:
        with self.db.session() as session:
            audit.record(
                session,
                "registration.proofing",
                actor="upstream",
                subject="-",
                outcome="failure",
                origin=origin,
                reason=reason,
            )

    # -- step 3: the email code, then confirm ----------------------------------------------
    def send_code(self, user_id: str, raw_email: str, origin: Origin) -> None:
        email = normalise_email(raw_email)
        if email is None:
            raise UserFacingError(BAD_EMAIL, "email")
        with self.db.session() as session:
            registration = reg.open_registration(session, user_id)
            if reg.current_step(registration) != 3:
                raise UserFacingError(NOT_YET)
            code, expires = self.email_codes.issue(session, registration, email)
            when = datetime.fromtimestamp(expires, UTC)
            self.enqueue(
                session,
                "email_otp",
                email,
                otp=code,
                expires_th=format_datetime(when, "th"),
                expires_en=format_datetime(when, "en"),
            )
            audit.record(
                session,
                "registration.email_otp_sent",
                actor=user_id,
                subject=user_id,
                origin=origin,
            )
        self.wake()

    def verify_code(self, user_id: str, code: str, origin: Origin) -> None:
        with self.db.session() as session:
            registration = reg.open_registration(session, user_id)
            self.email_codes.verify(session, registration, code, origin)

    def confirm(self, user_id: str, origin: Origin) -> None:
        """Approved at once, or waiting for an officer (step 4)."""
        with self.db.session() as session:
            registration = reg.open_registration(session, user_id)
            user = _user(session, user_id)
            if reg.confirm(session, registration, user, origin) == "approved":
                self.decided(session, registration, user, self.issuer)
        self.wake()


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    assert user is not None
    return user
