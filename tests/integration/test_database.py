"""Migrations and database rules on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

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


def test_buffered_audit_rows_arrive_whole_in_batches(services: Services, tmp_path: Path) -> None:
    """The token endpoint's audit rows: COPY on PostgreSQL, INSERT on SQLite, same rows."""
    writer = audit.BufferedAudit(services.db, tmp_path / "spill.jsonl", interval=0.05, batch=500)
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


def test_audit_rows_the_database_refused_are_spilled_then_written_in_order(
    services: Services, tmp_path: Path
) -> None:
    """PostgreSQL away while tokens are issued (issue #11, item 3): no row is lost."""
    spill = tmp_path / "spill.jsonl"
    writer = audit.BufferedAudit(services.db, spill, interval=0.02, batch=50, retry=0.1)
    written = writer._to_db
    outage = {"on": True}

    def database(rows: list[audit.QueuedRow]) -> None:
        if outage["on"]:
            raise ConnectionError("the database is down")
        written(rows)

    writer._to_db = database  # type: ignore[method-assign]
    for n in range(120):
        writer.record("test.spilled", actor="rp-1", subject=f"s{n}", n=n)
        if n == 60:
            time.sleep(0.1)  # a batch of its own while the database is still away
    deadline = time.monotonic() + 5
    while (not spill.exists() or spill.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert spill.stat().st_size > 0
    outage["on"] = False  # the database is back: the writer retries by itself
    deadline = time.monotonic() + 5
    while spill.stat().st_size > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.close()
    with services.db.read() as session:
        subjects = session.scalars(
            select(AuditEvent.subject)
            .where(AuditEvent.action == "test.spilled")
            .order_by(AuditEvent.id)
        ).all()
    assert list(subjects) == [f"s{n}" for n in range(120)]
    assert spill.stat().st_size == 0


def test_a_refusal_is_audited_though_its_unit_of_work_rolls_back(services: Services) -> None:
    class Refused(Exception):
        pass

    def refuse() -> None:
        with services.db.session() as session:
            audit.record(session, "test.refusal", actor="u", subject="u", outcome="failure")
            audit.record(session, "test.refusal", actor="u", subject="u")  # goes with the work
            raise Refused

    with pytest.raises(Refused):
        refuse()
    with services.db.read() as session:
        outcomes = session.scalars(
            select(AuditEvent.outcome).where(AuditEvent.action == "test.refusal")
        ).all()
    assert list(outcomes) == ["failure"]
