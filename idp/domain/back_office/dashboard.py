"""The back office's dashboard: pending work, registrations and sign-ins per day over 30 days,
and the devices whose certificates end within 30 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from idp.domain.back_office.ports import PushDevices
from idp.storage.db import Database
from idp.storage.models import AuditEvent, Registration, ServiceRequest

DAYS = 30


@dataclass(frozen=True)
class Dashboard:
    db: Database
    devices: PushDevices

    def numbers(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        since = now - timedelta(days=DAYS)
        with self.db.read() as session:
            pending = _count(session, Registration.status == "waiting_approval")
            requests = _count(session, ServiceRequest.status == "received")
            registered = _per_day(session, Registration.created_at, since)
            sign_ins = _per_day(
                session,
                AuditEvent.at,
                since,
                AuditEvent.action == "login.password",
                AuditEvent.outcome == "success",
            )
        return {
            "pending_registrations": pending,
            "pending_service_requests": requests,
            "registrations_per_day": registered,
            "sign_ins_per_day": sign_ins,
            "certificates_expiring_30_days": self.devices.expiring(now, now + timedelta(days=DAYS)),
        }


def _count(session: Session, where: ColumnElement[bool]) -> int | None:
    return session.scalar(select(func.count()).where(where))


def _per_day(
    session: Session,
    column: InstrumentedAttribute[datetime],
    since: datetime,
    *where: ColumnElement[bool],
) -> dict[str, int]:
    day = func.date(column)
    rows = session.execute(
        select(day, func.count()).where(column >= since, *where).group_by(day).order_by(day)
    )
    return {str(d): int(n) for d, n in rows}
