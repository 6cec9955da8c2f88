"""What the rest of idp uses to send email: enqueue in a transaction, then wake the sender."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.mail.messages import MessageRenderer
from idp.mail.outbox import Outbox, enqueue
from idp.mail.sender import MailSender
from idp.settings import MailSettings
from idp.storage.db import Database
from idp.storage.models import OutboxMessage, Registration, User


class Mailer:
    def __init__(self, db: Database, settings: MailSettings) -> None:
        self.settings = settings
        self.renderer = MessageRenderer()
        self.outbox = Outbox(db, settings.max_attempts, settings.retry_base_seconds)
        self.sender = MailSender(self.outbox, settings)
        self._db = db

    def enqueue(self, session: Session, kind: str, to_address: str, **values: object) -> None:
        """Add a message to the caller's transaction; call `wake` after it commits."""
        enqueue(session, self.renderer, kind, to_address, **values)

    def registration_decided(
        self, session: Session, registration: Registration, user: User, issuer: str
    ) -> None:
        """The approval or rejection email, to the verified address (or the record's); nothing
        while the registration still waits (a first approval under four eyes)."""
        if registration.status == "waiting_approval":
            return
        approved = registration.status in ("approved", "activated")
        self.enqueue(
            session,
            "registration_approved" if approved else "registration_rejected",
            registration.email or user.email,
            name_th=user.name_th,
            name_en=user.name_en,
            user_id=user.user_id,
            reason=registration.decision_reason or "-",
            link=issuer + "/register",
        )

    def wake(self) -> None:
        self.sender.wake()

    def recent(self, limit: int = 50) -> list[OutboxMessage]:
        """The latest messages (the development mailbox shows them)."""
        with self._db.read() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
            return list(session.scalars(query))
