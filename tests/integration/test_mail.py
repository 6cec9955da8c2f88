"""The outbox and sender against a real SMTP server on loopback: delivery, outage, claim once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.mail import sender as sender_module
from idp.mail.messages import MessageRenderer
from idp.mail.outbox import Claimed, Outbox, enqueue
from idp.services import build_services
from idp.settings import Settings
from idp.storage.models import OutboxMessage
from tests import support
from tests.backends import Backend, own_database
from tests.live import free_port
from tests.smtp import Inbox, smtp_mail, smtp_server, text_of


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mail_app(backend: Backend, tmp_path: Path, smtp_port: int) -> Iterator[TestClient]:
    settings = support.make_settings(
        backend,
        tmp_path,
        mail=smtp_mail(smtp_port),
    )
    with TestClient(create_app(settings), base_url=support.ISSUER) as client:
        yield client


def _send_otp(client: TestClient, to: str, otp: str) -> None:
    context = client.app.state.ctx  # type: ignore[attr-defined]
    with context.services.db.session() as session:
        context.mail.enqueue(session, "email_otp", to, otp=otp, expires_th="-", expires_en="-")
    context.mail.wake()


def test_message_is_delivered_by_smtp(mail_app: TestClient, smtp_port: int) -> None:
    inbox = Inbox()
    server = smtp_server(inbox, smtp_port)
    try:
        _send_otp(mail_app, "somying@example.go.th", "482913")
        [message] = inbox.wait_for(1, to="somying@example.go.th")
    finally:
        server.stop()
    assert message["To"] == "somying@example.go.th"
    assert "OTP" in str(make_header(decode_header(message["Subject"])))
    body = text_of(message)
    assert "482913" in body
    assert "รหัส OTP" in body
    assert "10 minutes" in body


def test_nothing_is_lost_while_smtp_is_down(mail_app: TestClient, smtp_port: int) -> None:
    _send_otp(mail_app, "somchai@example.go.th", "111000")
    services = mail_app.app.state.ctx.services  # type: ignore[attr-defined]

    def attempts() -> int:
        with services.db.read() as session:
            row = session.scalars(
                select(OutboxMessage).where(OutboxMessage.to_address == "somchai@example.go.th")
            ).one()
            return row.attempts

    deadline = time.monotonic() + 10
    while attempts() < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert attempts() >= 1  # tried, failed, kept
    inbox = Inbox()
    server = smtp_server(inbox, smtp_port)  # the server comes back
    try:
        messages = inbox.wait_for(1, timeout=15, to="somchai@example.go.th")
        time.sleep(0.5)
    finally:
        server.stop()
    assert len(messages) == 1
    assert "111000" in text_of(messages[0])


def test_each_message_is_claimed_once_by_competing_senders(
    backend: Backend, tmp_path: Path
) -> None:
    with own_database(backend, tmp_path) as own:  # no other test's sender competes
        _claim_once(build_services(support.make_settings(own, tmp_path)))


def _claim_once(services: support.Services) -> None:
    renderer = MessageRenderer()
    marker = support.new_user_id().lower()
    with services.db.session() as session:
        for n in range(30):
            enqueue(
                session,
                renderer,
                "email_otp",
                f"{marker}-{n}@example.go.th",
                otp=str(n),
                expires_th="-",
                expires_en="-",
            )
    senders = [Outbox(services.db, 3, 1) for _ in range(3)]
    claimed: list[list[int]] = [[] for _ in senders]
    barrier = threading.Barrier(len(senders))

    def run(index: int) -> None:
        barrier.wait()
        for _ in range(10):
            claimed[index].extend(
                m.id for m in senders[index].claim(limit=5) if m.to_address.startswith(marker)
            )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    services.close()
    everything = [i for ids in claimed for i in ids]
    assert len(everything) == 30
    assert len(set(everything)) == 30


def test_the_sender_stops_promptly_even_when_woken_as_it_is_cancelled(settings: Settings) -> None:
    """On Python 3.11 asyncio.wait_for could swallow a cancel that raced a wake-up; the
    sender then never stopped and shutdown hung (seen as 120 s test teardowns)."""
    import asyncio

    from idp.mail.sender import MailSender

    services = build_services(settings)

    async def start_and_stop() -> float:
        sender = MailSender(Outbox(services.db, 3, 1), settings.mail)
        await sender.start()
        await asyncio.sleep(0.05)  # the loop is now waiting for a wake-up
        sender.wake()
        began = time.monotonic()
        await asyncio.wait_for(sender.stop(), 10)
        return time.monotonic() - began

    try:
        for _ in range(20):
            assert asyncio.run(start_and_stop()) < 2
    finally:
        services.close()


def test_a_send_recorded_late_goes_once_with_a_stable_message_id(
    mail_app: TestClient, smtp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox()
    controller = smtp_server(inbox, smtp_port)
    try:
        mail = mail_app.app.state.ctx.mail  # type: ignore[attr-defined]
        outbox = mail.sender._outbox
        recorded = outbox.sent
        failures = [2]  # the database is away twice when the send is to be recorded

        def flaky(message_id: int) -> None:
            if failures[0]:
                failures[0] -= 1
                raise ConnectionError("the database is down")
            recorded(message_id)

        monkeypatch.setattr(outbox, "sent", flaky)
        monkeypatch.setattr(sender_module, "RECORD_RETRY_SECONDS", 0.1)
        to = "late-record@example.go.th"
        _send_otp(mail_app, to, "135790")
        [message] = inbox.wait_for(1, to=to)
        time.sleep(1.0)  # a second send would have arrived by now
        assert len(inbox.wait_for(2, timeout=0.1, to=to)) == 1
        assert failures == [0]
        assert message["Message-ID"].startswith("<outbox.")
        with mail_app.app.state.ctx.services.db.read() as session:  # type: ignore[attr-defined]
            row = session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == to)).one()
            assert row.status == "sent"
            claimed = Claimed(
                row.id, row.to_address, row.subject, row.body_text, row.body_html, row.attempts
            )
        sender = mail_app.app.state.ctx.services.settings.mail.from_address  # type: ignore[attr-defined]
        assert sender_module.build_message(claimed, sender)["Message-ID"] == message["Message-ID"]
    finally:
        controller.stop()
