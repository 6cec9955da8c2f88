"""The outbox: enqueue in the caller's transaction; claim each message exactly once.

A claim is an UPDATE guarded by the row's state, so with several processes only one wins each
message; a sender that dies leaves its claim to expire and the message is claimed again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from idp.mail.messages import MessageRenderer
from idp.storage.db import Database
from idp.storage.models import OutboxMessage

CLAIM_SECONDS = 120
RETRY_MAX_SECONDS = 3600


@dataclass(frozen=True)
class Claimed:
    id: int
    to_address: str
    subject: str
    body_text: str
    body_html: str
    attempts: int


def enqueue(
    session: Session, renderer: MessageRenderer, kind: str, to_address: str, **values: object
) -> None:
    rendered = renderer.render(kind, **values)
    now = datetime.now(UTC)
    session.add(
        OutboxMessage(
            kind=kind,
            to_address=to_address,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
    )


class Outbox:
    def __init__(self, db: Database, max_attempts: int, retry_base_seconds: int) -> None:
        self._db = db
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self.worker_id = secrets.token_hex(8)

    def claim(self, limit: int = 20) -> list[Claimed]:
        now = datetime.now(UTC)
        claimable = or_(
            (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
            (OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < now),
        )
        with self._db.session() as session:
            ids = list(
                session.scalars(
                    select(OutboxMessage.id)
                    .where(claimable)
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            )
        claimed = []
        for message_id in ids:
            with self._db.session() as session:
                won = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id, claimable)
                    .values(
                        status="sending",
                        claimed_by=self.worker_id,
                        claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                    )
                )
                if won.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                row = session.get(OutboxMessage, message_id)
                assert row is not None
                claimed.append(
                    Claimed(
                        row.id,
                        row.to_address,
                        row.subject,
                        row.body_text,
                        row.body_html,
                        row.attempts,
                    )
                )
        return claimed

    def sent(self, message_id: int) -> None:
        with self._db.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == self.worker_id)
                .values(
                    status="sent",
                    sent_at=datetime.now(UTC),
                    claimed_until=None,
                    attempts=OutboxMessage.attempts + 1,
                )
            )

    def failed(self, message_id: int, attempts: int, error: str) -> None:
        """Back off exponentially (retry_base_seconds doubling to 1 h); give up after
        max_attempts."""
        attempts += 1
        delay = min(RETRY_MAX_SECONDS, self._retry_base * 2 ** (attempts - 1))
        status = "failed" if attempts >= self._max_attempts else "pending"
        with self._db.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == self.worker_id)
                .values(
                    status=status,
                    attempts=attempts,
                    claimed_until=None,
                    last_error=error[:500],
                    next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
                )
            )

    def backlog(self) -> tuple[int, datetime | None]:
        """Messages not yet sent nor given up (pending or being sent), and the oldest one's
        creation time: one indexed query, for the metrics scrape."""
        query = select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(("pending", "sending"))
        )
        with self._db.read() as session:
            count, oldest = session.execute(query).one()
        if oldest is not None and oldest.tzinfo is None:  # SQLite gives naive UTC
            oldest = oldest.replace(tzinfo=UTC)
        return int(count), oldest
