"""`idp doctor` (idp.doctor) against each backend: all OK on a healthy deployment; a FAIL with
its fix for what is broken; never a secret in what it prints."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from idp.cli import main
from idp.push_wiring import build_push
from idp.services import build_services
from idp.settings import Settings
from tests import support
from tests.backends import Backend, own_database
from tests.live import free_port
from tests.smtp import Inbox, smtp_server


@pytest.fixture
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = smtp_server(Inbox(), port)
    yield port
    controller.stop()


@pytest.fixture
def env(settings: Settings, smtp_port: int, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`idp` configured for this test's backend and SMTP server (the database not yet made)."""
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    values = {
        "IDP_DATABASE__URL": settings.database.url,
        "IDP_STORE__URL": settings.store.url,
        "IDP_STORE__KEY_PREFIX": settings.store.key_prefix,
        "IDP_SECURITY__MASTER_KEY": settings.security.master_key,
        "IDP_SERVER__VAR_DIR": settings.server.var_dir,
        "IDP_MAIL__TRANSPORT": "smtp",
        "IDP_MAIL__HOST": "127.0.0.1",
        "IDP_MAIL__PORT": str(smtp_port),
        "IDP_MAIL__SECURITY": "none",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return settings


def _doctor() -> Result:
    return CliRunner().invoke(main, ["doctor"])


def _lines(result: Result, status: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(status)]


def _ready(settings: Settings) -> None:
    services = build_services(settings)  # migrated, with keys
    try:
        assert build_push(services).ca.certificate_pem  # and the device CA
    finally:
        services.close()


def test_healthy_deployment_is_all_ok(env: Settings) -> None:
    _ready(env)
    result = _doctor()
    assert result.exit_code == 0, result.output
    assert not _lines(result, "FAIL")
    assert not _lines(result, "WARN")
    checks = {line.split()[1] for line in _lines(result, "OK")}
    assert {"settings", "database", "migrations", "clock", "redis", "keys", "ca", "smtp"} <= checks
    assert "the database is at the head revision" in result.output
    assert "the CA loads; its certificate is valid until" in result.output
    assert "answered EHLO (no mail sent)" in result.output


def test_unreachable_redis_fails_with_the_fix(
    env: Settings, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ready(env)
    monkeypatch.setenv("IDP_STORE__URL", f"redis://127.0.0.1:{free_port()}/0")
    result = _doctor()
    assert result.exit_code == 1
    (line,) = [line for line in _lines(result, "FAIL") if "redis" in line]
    assert "does not answer" in line
    assert "check store.url and that Redis runs" in result.output


def test_sentinels_that_do_not_answer_fail(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _ready(env)
    monkeypatch.setenv("IDP_STORE__URL", "memory://")
    monkeypatch.setenv("IDP_STORE__SENTINELS", f'["127.0.0.1:{free_port()}"]')
    monkeypatch.setenv("IDP_STORE__SENTINEL_SERVICE", "idp")
    result = _doctor()
    assert result.exit_code == 1
    assert any("no Sentinel answers" in line for line in _lines(result, "FAIL"))


def test_database_behind_the_head_fails_with_the_fix(
    env: Settings, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with own_database(backend, tmp_path) as fresh:
        if fresh.name == "embedded":
            sqlite3.connect(fresh.database_url.removeprefix("sqlite:///")).close()
        monkeypatch.setenv("IDP_DATABASE__URL", fresh.database_url)
        result = _doctor()
    assert result.exit_code == 1, result.output
    (line,) = [line for line in _lines(result, "FAIL") if "migrations" in line]
    assert "no revision, behind the head" in line
    assert "idp migrate" in result.output
    assert "SKIP  keys" in result.output  # nothing to read before the migrations


def test_wrong_smtp_port_fails_with_the_fix(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _ready(env)
    monkeypatch.setenv("IDP_MAIL__PORT", str(free_port()))
    result = _doctor()
    assert result.exit_code == 1
    (line,) = [line for line in _lines(result, "FAIL") if "smtp" in line]
    assert "does not answer" in line
    assert "check mail.host, mail.port and mail.security" in result.output


def test_invalid_settings_fail_with_the_key(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_SERVER__PORT", "0")
    result = _doctor()
    assert result.exit_code == 1
    assert "server.port" in result.output
    assert result.output.startswith("FAIL  settings")


def test_secrets_are_never_printed(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _ready(env)
    redis_password, mail_password = "redis-S3cret-pw", "mail-S3cret-pw"
    monkeypatch.setenv("IDP_STORE__URL", f"redis://idp:{redis_password}@127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("IDP_MAIL__USERNAME", "idp")
    monkeypatch.setenv("IDP_MAIL__PASSWORD", mail_password)
    monkeypatch.setenv("IDP_METRICS__TOKEN", "metrics-S3cret-token")
    for as_json in ([], ["--json"]):
        result = CliRunner().invoke(main, ["doctor", *as_json])
        assert result.exit_code == 1
        for secret in (
            redis_password,
            mail_password,
            "metrics-S3cret-token",
            support.MASTER_KEY,
        ):
            assert secret not in result.output
        assert "redis://idp:***@127.0.0.1" in result.output
