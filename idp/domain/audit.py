"""The append-only audit log of security-relevant actions."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from idp import metrics
from idp.storage.db import Database, keep_on_rollback
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
    """Add one audit row to the caller's unit of work (never secrets in detail). A row whose
    outcome is not a success (a refusal, a lockout, an alert) is written even when the unit
    of work then rolls back, as a refusal's does."""
    row = _row(action, actor, subject, outcome, origin, detail)
    session.add(AuditEvent(**row))
    if outcome != "success":
        keep_on_rollback(session, AuditEvent, row)
    metrics.audited(action, outcome, detail)  # the sign-in funnel's events


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
    are the same append-only rows as `record` writes; only the transaction is shared. A batch
    the database does not take is never dropped: it is appended to a local spill file (JSON
    lines), which is written to the database first, in order, once it answers again (retried
    every `retry` seconds, and before any newer row).
    """

    def __init__(
        self,
        db: Database,
        spill: Path,
        interval: float = 0.2,
        batch: int = 500,
        retry: float = 5.0,
    ) -> None:
        self._db = db
        self._spill = spill
        self._interval = interval
        self._batch = batch
        self._retry = retry
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
            try:
                first = self._queue.get(timeout=self._retry if self._spilled() else None)
            except queue.Empty:
                self._replay()  # the database may be back
                continue
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

    def _spilled(self) -> bool:
        try:
            return self._spill.stat().st_size > 0
        except FileNotFoundError:
            return False

    def _write(self, rows: list[QueuedRow]) -> None:
        if self._spilled() and not self._replay():
            self._append(rows)  # after the older ones: the order is kept
            return
        try:
            self._to_db(rows)
        except Exception as exc:
            log.warning("audit rows spilled to %s (database: %s)", self._spill, exc)
            self._append(rows)

    def _to_db(self, rows: list[QueuedRow]) -> None:
        with self._db.engine.begin() as connection:
            for start in range(0, len(rows), self._batch):
                batch = rows[start : start + self._batch]
                if connection.dialect.name == "postgresql":
                    _copy_rows(connection, batch)
                else:
                    _insert_rows(connection, batch)

    def _append(self, rows: list[QueuedRow]) -> None:
        self._spill.parent.mkdir(parents=True, exist_ok=True)
        with self._spill.open("ab") as spill:
            fcntl.flock(spill, fcntl.LOCK_EX)  # the processes of one host share the file
            for row in rows:
                spill.write(orjson.dumps([row[0].isoformat(), *row[1:]]) + b"\n")
            spill.flush()
            os.fsync(spill.fileno())

    def _replay(self) -> bool:
        """The spilled rows into the database, in order, under the file's lock; True when none
        is left. The file is emptied, never removed (another process may be waiting on it)."""
        if not self._spilled():
            return True
        with self._spill.open("r+b") as spill:
            fcntl.flock(spill, fcntl.LOCK_EX)
            rows: list[QueuedRow] = []
            for line in spill.read().splitlines():
                at, *rest = orjson.loads(line)
                rows.append((datetime.fromisoformat(at), *rest))
            try:  # one transaction: a replay is written whole or not at all (no duplicates)
                self._to_db(rows)
            except Exception as exc:
                log.warning("spilled audit rows still wait for the database: %s", exc)
                return False
            spill.truncate(0)
            os.fsync(spill.fileno())
        log.info("%d spilled audit rows written", len(rows))
        return True

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
