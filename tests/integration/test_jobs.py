"""Certificate-expiry reminders: 30 and 7 days before, each once, from `idp jobs run`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from idp.cli import main
from idp.services import Services
from idp.settings import Settings
from idp.storage.models import DeviceRecord, OutboxMessage
from idp.web.app import create_app
from tests.e2e.test_device_api import Phone
from tests.integration.test_cli import run  # noqa: F401 - the CLI fixture
from tests.support import ISSUER, approve_registration, create_user


def _reminders(services: Services, email: str) -> int:
    with services.db.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "renewal_reminder", OutboxMessage.to_address == email)
            )
            or 0
        )


def test_reminders_go_once_at_30_and_7_days(run: CliRunner, settings: Settings) -> None:  # noqa: F811
    with TestClient(create_app(settings), base_url=ISSUER) as client:
        context = client.app.state.ctx  # type: ignore[attr-defined]
        user = create_user(context.services)
        approve_registration(context.services, user.user_id)
        phone = Phone(client)
        assert phone.activate(context.push.start_activation(user.user_id).code).status_code == 201
        services = context.services
        email = f"{user.user_id.lower()}@example.go.th"

        def expires_in(days: int) -> None:
            with services.db.session() as session:
                record = session.get(DeviceRecord, phone.device_id)
                assert record is not None
                record.not_after = datetime.now(UTC) + timedelta(days=days, hours=1)

        expires_in(40)
        assert run.invoke(main, ["jobs", "run"]).exit_code == 0
        assert _reminders(services, email) == 0
        expires_in(20)
        for _ in range(2):
            result = run.invoke(main, ["jobs", "run"])
            assert result.exit_code == 0, result.output
        assert _reminders(services, email) == 1  # the 30-day reminder, once
        expires_in(5)
        run.invoke(main, ["jobs", "run"])
        run.invoke(main, ["jobs", "run"])
        assert _reminders(services, email) == 2  # and the 7-day one, once
