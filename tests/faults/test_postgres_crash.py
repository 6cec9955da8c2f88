"""PostgreSQL crashes under a running IdP, on a PostgreSQL of the test's own (issue #11): tokens
issued around the crash all have their audit rows afterwards, the outage is a clear 503 and
`/readyz` red, nothing answers 500 (the first request after the restart included), and a mail
whose SMTP DATA was in flight goes out once, with the Message-ID of its outbox row."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.services import Services
from idp.storage.models import AuditEvent, OutboxMessage
from tests import support
from tests.backends import ProductionServers, require_production
from tests.faults.throwaway import ThrowawayPostgres, backend_on_postgres, throwaway_postgres
from tests.live import free_port, serve
from tests.smtp import Inbox, smtp_mail, smtp_server

pytestmark = pytest.mark.timeout(180)


class _Load:
    """Threads asking for client-credentials tokens as fast as they are answered. The client is
    remembered, so tokens are still issued while PostgreSQL is down: their audit rows wait in
    the spill file."""

    def __init__(self, base: str, client: support.RelyingParty, threads: int = 3) -> None:
        self.statuses: Counter[int] = Counter()
        self.unclear: list[str] = []  # 503s without Retry-After or the JSON error
        self._base, self._client = base, client
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self._base, timeout=20) as http:
            while not self._stop.is_set():
                answer = http.post(
                    "/token", auth=self._client.basic, data={"grant_type": "client_credentials"}
                )
                with self._lock:
                    self.statuses[answer.status_code] += 1
                    if answer.status_code == 503 and not _clear_503(answer):
                        self.unclear.append(answer.text[:200])


def _clear_503(answer: httpx.Response) -> bool:
    body = answer.json()
    return bool(answer.headers.get("retry-after")) and (
        body.get("error") == "temporarily_unavailable"
        and body.get("request_id") == answer.headers.get("x-request-id")
    )


def _issue_rows(services: Services, client_id: str) -> int:
    with services.db.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "token.issue", AuditEvent.actor == client_id)
            )
            or 0
        )


def test_tokens_issued_around_a_postgres_crash_all_have_audit_rows(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    servers = require_production(production_servers)
    with throwaway_postgres() as postgres:
        settings = support.make_settings(
            backend_on_postgres(servers, postgres, "pg-crash:"), tmp_path
        )
        app = create_app(settings)
        with serve(app, free_port()) as base:
            services = app.state.ctx.services
            rp = support.create_client(
                services, grant_types=("client_credentials",), redirect_uris=[], scope="gfmis"
            )
            web = support.create_client(services)
            with _Load(base, rp) as load, httpx.Client(base_url=base) as http:
                time.sleep(1.0)
                postgres.crash()
                time.sleep(0.5)
                ready = http.get("/readyz")
                page = http.get(
                    "/authorize", params={"client_id": web.client_id, "response_type": "x"}
                )
                time.sleep(1.0)
                postgres.start()
                first_after = http.get("/readyz")
                time.sleep(1.5)
            issued = load.statuses[200]

            assert ready.status_code == 503
            assert ready.headers["retry-after"]
            assert page.status_code == 503
            assert "ไม่พร้อมให้บริการชั่วคราว" in page.text
            assert page.headers["x-request-id"] in page.text
            assert first_after.status_code == 200  # pre-ping: no 500 after the restart
            assert set(load.statuses) <= {200, 503}, load.statuses  # never a 500
            assert load.unclear == []
            assert issued > 0

            deadline = time.monotonic() + 30  # the spill is replayed every 5 s
            while _issue_rows(services, rp.client_id) < issued and time.monotonic() < deadline:
                time.sleep(0.25)
            # At least once: a batch whose commit answer was lost in the crash may repeat.
            assert _issue_rows(services, rp.client_id) >= issued
            spill = tmp_path / "audit-spill.jsonl"
            assert not spill.exists() or spill.stat().st_size == 0


class _HeldInbox(Inbox):
    """An SMTP server that holds DATA open until the test lets it answer."""

    def __init__(self) -> None:
        super().__init__()
        self.receiving = threading.Event()
        self.answer = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.to_thread(self.answer.wait, 30)
        return await super().handle_DATA(server, session, envelope)


def _outbox_row(client: TestClient, to: str) -> OutboxMessage:
    services: Services = client.app.state.ctx.services  # type: ignore[attr-defined]
    with services.db.read() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == to)).one()


def _wait_sent(client: TestClient, to: str, postgres: ThrowawayPostgres) -> OutboxMessage:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = _outbox_row(client, to)
        if row.status == "sent":
            return row
        time.sleep(0.2)
    raise AssertionError(f"the mail was never recorded as sent (server log in {postgres.folder})")


def test_a_mail_in_flight_when_postgres_crashes_goes_once(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    servers = require_production(production_servers)
    smtp_port = free_port()
    inbox = _HeldInbox()
    smtp = smtp_server(inbox, smtp_port)
    try:
        with throwaway_postgres() as postgres:
            settings = support.make_settings(
                backend_on_postgres(servers, postgres, "pg-mail:"),
                tmp_path,
                mail=smtp_mail(smtp_port),
            )
            with TestClient(create_app(settings), base_url=support.ISSUER) as client:
                context = client.app.state.ctx  # type: ignore[attr-defined]
                to = "somsri@example.go.th"
                with context.services.db.session() as session:
                    context.mail.enqueue(
                        session, "email_otp", to, otp="246810", expires_th="-", expires_en="-"
                    )
                context.mail.wake()
                assert inbox.receiving.wait(15), "the sender never reached DATA"
                postgres.crash()  # while DATA is in flight
                inbox.answer.set()
                [delivered] = inbox.wait_for(1, to=to)
                time.sleep(2.0)  # the sender tries to record the send, and cannot
                postgres.start()
                row = _wait_sent(client, to, postgres)
                time.sleep(1.0)  # a sender that forgot would claim and send it again now
                received = inbox.wait_for(1, to=to)
    finally:
        smtp.stop()
    assert len(received) == 1
    assert delivered["Message-ID"].startswith(f"<outbox.{row.id}.")
