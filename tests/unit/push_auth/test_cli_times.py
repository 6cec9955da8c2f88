"""`softtoken pending` and `softtoken status` print times as local dates, never epoch numbers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from push_auth.authenticator import cli

WHEN = 1_796_112_309  # 2026-12-01 08:05:09 UTC


@pytest.fixture
def bangkok() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Bangkok"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_local_time(bangkok: None) -> None:
    assert cli.local_time(WHEN) == "2026-12-01 15:05:09 +07:00"
    assert cli.local_time(None) == "-"
    assert cli.local_time("2026-12-01T08:05:09Z") == "2026-12-01T08:05:09Z"


class FakeAuthenticator:
    def pending(self, wait: float) -> dict[str, Any]:
        return {
            "cid": "c1",
            "mode": "binding",
            "exp": WHEN + 120,
            "context": {"client_name": "GFMIS", "time": WHEN, "ip": "10.0.0.1"},
        }

    def status(self) -> dict[str, Any]:
        return {"device_id": "d1", "status": "active", "not_after": WHEN}


def test_pending_and_status_print_local_times(
    bangkok: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "Authenticator", lambda home: FakeAuthenticator())
    runner = CliRunner()
    shown = runner.invoke(cli.main, ["--home", "/nonexistent", "pending"])
    assert shown.exit_code == 0, shown.output
    assert "time: 2026-12-01 15:05:09 +07:00" in shown.output
    assert "answer before: 2026-12-01 15:07:09 +07:00" in shown.output
    assert str(WHEN) not in shown.output
    status = runner.invoke(cli.main, ["--home", "/nonexistent", "status"])
    assert "not_after: 2026-12-01 15:05:09 +07:00" in status.output
