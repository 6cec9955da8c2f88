"""Migrations and database rules on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from idp.domain import audit
from idp.services import Services
from idp.storage.models import AuditEvent


def test_audit_log_is_append_only(services: Services) -> None:
    with services.db.session() as session:
        audit.record(session, "test.event", actor="t", subject="s")
    with pytest.raises(DBAPIError), services.db.session() as session:
        session.execute(update(AuditEvent).values(outcome="tampered"))
    with pytest.raises(DBAPIError), services.db.session() as session:
        session.query(AuditEvent).delete()


def test_migrations_are_idempotent(services: Services) -> None:
    services.db.migrate()
    services.db.migrate()


def test_buffered_audit_rows_arrive_whole_in_batches(services: Services) -> None:
    """The token endpoint's audit rows: COPY on PostgreSQL, INSERT on SQLite, same rows."""
    writer = audit.BufferedAudit(services.db, interval=0.05, batch=500)
    agent = 'แอป "ทดสอบ"\tกับ \\ และ\nบรรทัดใหม่'
    origin = audit.Origin(ip="203.0.113.9", user_agent=agent)
    for n in range(1_201):  # three batches
        writer.record("test.buffered", actor="rp-1", subject=f"s{n}", origin=origin, n=n)
    writer.close()
    with services.db.read() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "test.buffered").order_by(AuditEvent.id)
        ).all()
    assert [row.subject for row in rows] == [f"s{n}" for n in range(1_201)]
    last = rows[-1]
    assert (last.actor, last.outcome, last.ip, last.user_agent) == (
        "rp-1",
        "success",
        "203.0.113.9",
        agent,
    )
    assert last.detail == {"n": 1_200}
    assert last.at.year >= 2026
