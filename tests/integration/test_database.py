"""Migrations and database rules on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import update
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
