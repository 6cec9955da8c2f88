"""The append-only audit log of security-relevant actions."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from idp.storage.db import Database
from idp.storage.models import AuditEvent

log = logging.getLogger(__name__)


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
    session.add(_event(action, actor, subject, outcome, origin, detail))


def _event(
    action: str, actor: str, subject: str, outcome: str, origin: Origin, detail: dict[str, Any]
) -> AuditEvent:
    return AuditEvent(**_row(action, actor, subject, outcome, origin, detail))


def _row(
    action: str, actor: str, subject: str, outcome: str, origin: Origin, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC),
        "actor": actor,
        "action": action,
        "subject": subject,
        "outcome": outcome,
        "ip": origin.ip,
        "user_agent": (origin.user_agent or "")[:300] or None,
        "detail": detail,
    }


class BufferedAudit:
    """Audit rows for high-volume events (token issuance), written in batches by one thread.

    A batch is written at most `interval` seconds after its first row, and on close. The rows
    are the same append-only rows as `record` writes; only the transaction is shared.
    """

    def __init__(self, db: Database, interval: float = 0.2, batch: int = 500) -> None:
        self._db = db
        self._interval = interval
        self._batch = batch
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def record(
        self,
        action: str,
        *,
        actor: str,
        subject: str,
        outcome: str = "success",
        origin: Origin = SYSTEM,
        **detail: Any,
    ) -> None:
        self._queue.put(_row(action, actor, subject, outcome, origin, detail))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            rows: list[dict[str, Any]] = [first]
            deadline = time.monotonic() + self._interval
            while len(rows) < self._batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                rows.append(item)
            self._write(rows)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self._db.session() as session:
                session.execute(insert(AuditEvent), rows)
        except Exception:
            log.exception("could not write %d audit rows", len(rows))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
