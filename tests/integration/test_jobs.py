"""Certificate-expiry reminders: 30 and 7 days before, each once per certificate, at the
lifecycle clock's time; from `idp jobs run`, and from two processes racing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.cli import main
from idp.domain.clock import Clock, ClockError
from idp.jobs import run_all
from idp.services import Services
from idp.settings import Settings
from idp.storage.models import DeviceRecord, OutboxMessage
from idp.web.context import WebContext
from tests.backends import ProductionServers, production, require_production
from tests.e2e.test_device_api import Phone
from tests.integration.test_cli import run  # noqa: F401 - the CLI fixture
from tests.support import ISSUER, approve_registration, create_user, make_settings


def _reminders(services: Services, email: str) -> list[str]:
    with services.db.read() as session:
        return list(
            session.scalars(
                select(OutboxMessage.body_text)
                .where(OutboxMessage.kind == "renewal_reminder", OutboxMessage.to_address == email)
                .order_by(OutboxMessage.id)
            )
        )


@dataclass
class Active:
    context: WebContext
    phone: Phone
    email: str

    @property
    def services(self) -> Services:
        return self.context.services

    def run_jobs(self) -> dict[str, int]:
        return run_all(self.services, self.context.push, self.context.mail)

    def move_to(self, days_before_expiry: float) -> None:
        """Move the clock to this many days before the certificate ends."""
        device = self.context.push.devices.get(self.phone.device_id)
        assert device is not None
        self.services.clock.set_to(device.not_after - timedelta(days=days_before_expiry))


@pytest.fixture
def active(settings: Settings) -> Iterator[Active]:
    with TestClient(create_app(settings), base_url=ISSUER) as client:
        context = client.app.state.ctx  # type: ignore[attr-defined]
        user = create_user(context.services)
        email = f"verified-{user.user_id.lower()}@example.go.th"
        approve_registration(context.services, user.user_id, email=email)
        phone = Phone(client)
        assert phone.activate(context.push.start_activation(user.user_id).code).status_code == 201
        yield Active(context, phone, email)


def test_reminders_go_once_at_30_and_7_days_to_the_registered_address(active: Active) -> None:
    active.move_to(40)
    assert active.run_jobs()["renewal_reminders"] == 0
    active.move_to(20)
    for _ in range(3):
        active.run_jobs()
    assert len(_reminders(active.services, active.email)) == 1  # the 30-day reminder, once
    active.move_to(5)
    active.run_jobs()
    active.run_jobs()
    texts = _reminders(active.services, active.email)
    assert len(texts) == 2  # and the 7-day one, once
    assert " 5 " in texts[1]


def test_a_certificate_first_seen_near_its_end_gets_one_email(active: Active) -> None:
    active.move_to(3)
    active.run_jobs()
    active.run_jobs()
    assert len(_reminders(active.services, active.email)) == 1  # not the 30- and the 7-day one


def test_a_renewed_certificate_gets_reminders_of_its_own(active: Active) -> None:
    active.move_to(20)
    active.run_jobs()
    with active.services.db.session() as session:  # as a renewal that has been used
        record = session.get(DeviceRecord, active.phone.device_id)
        assert record is not None
        record.serial = "renewed-" + record.serial[:40]
        record.not_after = active.services.clock.now() + timedelta(days=730)
    active.move_to(20)
    active.run_jobs()
    assert len(_reminders(active.services, active.email)) == 2


def test_the_clock_moves_only_forward_and_only_where_development_allows() -> None:
    with pytest.raises(ClockError):
        Clock(movable=False).advance(timedelta(days=1))
    with pytest.raises(ClockError):
        Clock(movable=True).advance(timedelta(days=-1))


def test_idp_jobs_run_from_the_command_line(run: CliRunner, settings: Settings) -> None:  # noqa: F811
    with TestClient(create_app(settings), base_url=ISSUER) as client:
        context = client.app.state.ctx  # type: ignore[attr-defined]
        user = create_user(context.services)
        approve_registration(context.services, user.user_id)
        phone = Phone(client)
        assert phone.activate(context.push.start_activation(user.user_id).code).status_code == 201
        with context.services.db.session() as session:  # the CLI's clock is real time
            record = session.get(DeviceRecord, phone.device_id)
            assert record is not None
            record.not_after = datetime.now(UTC) + timedelta(days=20)
        for _ in range(2):
            result = run.invoke(main, ["jobs", "run"])
            assert result.exit_code == 0, result.output
        email = f"{user.user_id.lower()}@example.go.th"
        assert len(_reminders(context.services, email)) == 1


def _count(services: Services) -> int:
    with services.db.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "renewal_reminder")
            )
            or 0
        )


def test_two_processes_racing_on_postgresql_send_each_reminder_once(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    """On PostgreSQL only: SQLite and the memory store are one process by design."""
    production_servers = require_production(production_servers)
    settings = make_settings(production(production_servers), tmp_path)
    with TestClient(create_app(settings), base_url=ISSUER) as client:
        context = client.app.state.ctx  # type: ignore[attr-defined]
        services = context.services
        for _ in range(12):
            user = create_user(services)
            approve_registration(services, user.user_id)
            phone = Phone(client)
            code = context.push.start_activation(user.user_id).code
            assert phone.activate(code).status_code == 201
            with services.db.session() as session:
                record = session.get(DeviceRecord, phone.device_id)
                assert record is not None
                record.not_after = datetime.now(UTC) + timedelta(days=5)
        before = _count(services)
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        env.update(
            IDP_DATABASE__URL=settings.database.url,
            IDP_STORE__URL=settings.store.url,
            IDP_STORE__KEY_PREFIX=settings.store.key_prefix,
            IDP_SECURITY__MASTER_KEY=settings.security.master_key,
            IDP_SERVER__VAR_DIR=str(tmp_path),
            IDP_SERVER__ISSUER=ISSUER,
        )
        command = [sys.executable, "-m", "idp.cli", "jobs", "run"]
        racers = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outputs = [racer.communicate(timeout=60) for racer in racers]
        assert all(racer.returncode == 0 for racer in racers), outputs
        assert _count(services) - before == 12  # one email per certificate, not 24
