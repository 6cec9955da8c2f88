"""The audit log in the back office: filtered, newest first, a page at a time or whole as a CSV
file that spreadsheet programs read (Thai included)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from idp.domain.back_office.listing import Page, iso, keyset
from idp.storage.db import Database
from idp.storage.models import AuditEvent

CSV_ROWS = 100_000  # at most, newest first
CSV_COLUMNS = ["id", "at", "actor", "action", "subject", "outcome", "ip"]


@dataclass(frozen=True)
class AuditFilter:
    user: str | None = None  # the subject
    officer: str | None = None  # the actor
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    def query(self) -> Select[AuditEvent]:
        query = select(AuditEvent)
        for value, column in (
            (self.user, AuditEvent.subject),
            (self.officer, AuditEvent.actor),
            (self.action, AuditEvent.action),
            (self.outcome, AuditEvent.outcome),
        ):
            if value:
                query = query.where(column == value)
        if self.since:
            query = query.where(AuditEvent.at >= self.since)
        if self.until:
            query = query.where(AuditEvent.at < self.until)
        return query


@dataclass(frozen=True)
class AuditLog:
    db: Database

    def search(self, filters: AuditFilter, limit: int, after: int | None) -> Page:
        return keyset(
            self.db, filters.query(), AuditEvent.id, after, limit, _event, newest_first=True
        )

    def csv(self, filters: AuditFilter) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        with self.db.read() as session:
            newest_first = filters.query().order_by(AuditEvent.id.desc()).limit(CSV_ROWS)
            for e in session.scalars(newest_first):
                writer.writerow(
                    [e.id, iso(e.at), e.actor, e.action, e.subject, e.outcome, e.ip or ""]
                )
        return "\ufeff" + buffer.getvalue()  # a BOM, so spreadsheet programs read Thai


def _event(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": iso(e.at),
        "actor": e.actor,
        "action": e.action,
        "subject": e.subject,
        "outcome": e.outcome,
        "ip": e.ip,
        "detail": e.detail,
    }
