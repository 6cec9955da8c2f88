"""The append-only audit log of security-relevant actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from idp.storage.models import AuditEvent


@dataclass(frozen=True)
class Origin:
    """Where a request came from: recorded with every event."""

    ip: str | None = None
    user_agent: str | None = None


SYSTEM = Origin()


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    subject: str,
    outcome: str = "success",
    origin: Origin = SYSTEM,
    **detail: Any,
) -> None:
    """Add one audit row to the caller's unit of work (never secrets in detail)."""
    session.add(
        AuditEvent(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            subject=subject,
            outcome=outcome,
            ip=origin.ip,
            user_agent=(origin.user_agent or "")[:300] or None,
            detail=detail,
        )
    )
