"""The append-only audit log of security-relevant actions."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert
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


_COLUMNS = ("at", "actor", "action", "subject", "outcome", "ip", "user_agent", "detail")
_COPY = f"COPY {AuditEvent.__tablename__} ({', '.join(_COLUMNS)}) FROM STDIN"
# A queued row: the columns in _COLUMNS' order, detail already JSON. A tuple of plain values is
# left alone by the garbage collector while it waits (a dict of dicts would be scanned).
QueuedRow = tuple[datetime, str, str, str, str, str | None, str | None, str]


def _queued(row: dict[str, Any]) -> QueuedRow:
    return (
        row["at"],
        row["actor"],
        row["action"],
        row["subject"],
        row["outcome"],
        row["ip"],
        row["user_agent"],
        orjson.dumps(row["detail"]).decode(),
    )


def _copy_rows(connection: Connection, rows: list[QueuedRow]) -> None:
    """PostgreSQL's COPY: measured at half the cost per row of a batched INSERT, and this
    writer shares the process (and its GIL) with the token endpoint."""
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
        for row in rows:
            copy.write_row(row)


def _insert_rows(connection: Connection, rows: list[QueuedRow]) -> None:
    values = []
    for row in rows:
        value: dict[str, Any] = dict(zip(_COLUMNS, row, strict=True))
        value["detail"] = json.loads(row[-1])  # the JSON column encodes it again
        values.append(value)
    connection.execute(insert(AuditEvent), values)


class BufferedAudit:
    """Audit rows for high-volume events (token issuance), written in batches by one thread.

    A batch is written at most `interval` seconds after its first row, and on close. The rows
    are the same append-only rows as `record` writes; only the transaction is shared.
    """

    def __init__(self, db: Database, interval: float = 0.2, batch: int = 500) -> None:
        self._db = db
        self._interval = interval
        self._batch = batch
        self._queue: queue.SimpleQueue[QueuedRow | None] = queue.SimpleQueue()
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
        self._queue.put(_queued(_row(action, actor, subject, outcome, origin, detail)))

    def _run(self) -> None:
        # Sleep through the interval, then take everything queued at once: a writer woken by
        # every row would compete for the GIL with the request that just queued it.
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            time.sleep(self._interval)
            rows: list[QueuedRow] = [first]
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                rows.append(item)
            for start in range(0, len(rows), self._batch):
                self._write(rows[start : start + self._batch])

    def _write(self, rows: list[QueuedRow]) -> None:
        try:
            with self._db.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    _copy_rows(connection, rows)
                else:
                    _insert_rows(connection, rows)
        except Exception:
            log.exception("could not write %d audit rows", len(rows))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
