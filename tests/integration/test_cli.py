"""The `idp` command line against each backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.cli import main
from idp.domain.lifecycle import Ability, State
from idp.services import build_services
from idp.settings import Settings
from idp.storage.models import AuditEvent
from tests import support
from tests.e2e.test_device_api import Phone
from tests.integration.test_user_import import HEADER, _row
from tests.support import ISSUER, create_user, new_user_id


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("IDP_DATABASE__URL", settings.database.url)
    monkeypatch.setenv("IDP_STORE__URL", settings.store.url)
    monkeypatch.setenv("IDP_STORE__KEY_PREFIX", settings.store.key_prefix)
    monkeypatch.setenv("IDP_SECURITY__MASTER_KEY", settings.security.master_key)
    monkeypatch.setenv("IDP_SERVER__VAR_DIR", settings.server.var_dir)
    return CliRunner()


def _json(runner: CliRunner, *args: str) -> object:
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_client_lifecycle(run: CliRunner) -> None:
    created = _json(
        run,
        "clients",
        "create",
        "cli-rp",
        "--name",
        "CLI RP",
        "--redirect-uri",
        "https://rp.example.go.th/cb",
        "--backchannel-logout-uri",
        "https://rp.example.go.th/bcl",
    )
    assert isinstance(created, dict)
    assert len(created["client_secret"]) >= 43
    listed = _json(run, "clients", "list")
    assert isinstance(listed, list)
    assert "cli-rp" in [c["client_id"] for c in listed]
    shown = _json(run, "clients", "show", "cli-rp")
    assert isinstance(shown, dict)
    assert "client_secret" not in shown
    rotated = _json(run, "clients", "rotate-secret", "cli-rp")
    assert isinstance(rotated, dict)
    assert rotated["client_secret"] != created["client_secret"]
    assert run.invoke(main, ["clients", "delete", "cli-rp"]).exit_code == 0
    missing = run.invoke(main, ["clients", "show", "cli-rp"])
    assert missing.exit_code == 1
    assert "no such client" in missing.output


def test_client_with_bad_redirect_uri_is_refused(run: CliRunner) -> None:
    result = run.invoke(
        main,
        [
            "clients",
            "create",
            "bad-rp",
            "--name",
            "Bad",
            "--redirect-uri",
            "http://rp.example.go.th/cb",
        ],
    )
    assert result.exit_code == 1
    assert "https" in result.output


def test_user_import_and_show(run: CliRunner, tmp_path: Path) -> None:
    good, bad = new_user_id(), tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, _row(good), _row("X1", mobile="1")]), encoding="utf-8")
    result = run.invoke(main, ["users", "import", str(bad)])
    assert result.exit_code == 1
    assert "line 3, user_id" in result.output
    assert "line 3, mobile" in result.output
    assert run.invoke(main, ["users", "show", good]).exit_code == 1  # nothing imported
    ok, colleague = tmp_path / "ok.csv", new_user_id()
    ok.write_text("\n".join([HEADER, _row(good), _row(colleague)]), encoding="utf-8")
    assert run.invoke(main, ["users", "import", str(ok)]).exit_code == 0
    shown = _json(run, "users", "show", good)
    assert isinstance(shown, dict)
    assert shown["unit_code"] == "0500500000"
    assert "password_hash" not in shown
    assert run.invoke(main, ["officers", "grant", good, "--role", "admin"]).exit_code == 0
    assert _json(run, "users", "show", good)["roles"] == ["admin"]  # type: ignore[index]
    assert run.invoke(main, ["officers", "grant", colleague, "--role", "admin"]).exit_code == 0
    assert run.invoke(main, ["officers", "revoke", good, "--role", "admin"]).exit_code == 0


def test_key_rotation_publishes_before_signing(run: CliRunner) -> None:
    before = _json(run, "keys", "list")
    assert isinstance(before, list)
    next_kids = {k["kid"] for k in before if k["state"] == "next"}
    active_kids = {k["kid"] for k in before if k["state"] == "active"}
    assert run.invoke(main, ["keys", "rotate"]).exit_code == 0
    after = {k["kid"]: k for k in _json(run, "keys", "list")}  # type: ignore[union-attr]
    assert {kid for kid, k in after.items() if k["state"] == "active"} == next_kids
    assert all(
        after[kid]["state"] == "retired" and after[kid]["publish_until"] for kid in active_kids
    )
    assert len([k for k in after.values() if k["state"] == "next"]) == 2


def test_devices_show_and_revoke(run: CliRunner, settings: Settings) -> None:
    with TestClient(create_app(settings), base_url=ISSUER) as client:
        context = client.app.state.ctx  # type: ignore[attr-defined]
        user = create_user(context.services)
        support.approve_registration(context.services, user.user_id)  # activation needs one
        assert run.invoke(main, ["devices", "show", user.user_id]).exit_code == 1
        code = context.push.start_activation(user.user_id).code
        assert Phone(client).activate(code).status_code == 201
    shown = _json(run, "devices", "show", user.user_id)
    assert isinstance(shown, dict)
    assert shown["status"] == "active"
    result = run.invoke(main, ["devices", "revoke", user.user_id, "--reason", "lost phone"])
    assert result.exit_code == 0, result.output
    assert run.invoke(main, ["devices", "show", user.user_id]).exit_code == 1
    again = run.invoke(main, ["devices", "revoke", user.user_id, "--reason", "lost phone"])
    assert again.exit_code == 1
    services = build_services(settings)
    try:  # through the lifecycle: the user registers again before another phone pairs
        with services.db.read() as session:
            account = services.lifecycle.user(session, user.user_id)[1]
        assert account.state is State.CANCELLED
        assert not account.may(Ability.ACTIVATE)
    finally:
        services.close()


def test_python_m_idp_cli_lists_every_command_group() -> None:
    """`python -m idp.cli` reaches the commands defined at the end of the module too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    result = subprocess.run(
        [sys.executable, "-m", "idp.cli", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    commands = {
        line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()
    }
    assert {"jobs", "devices", "registrations"} <= commands


def _on_file(run: CliRunner, user_id: str) -> object:
    shown = _json(run, "users", "show", user_id)
    assert isinstance(shown, dict)
    return shown["assignment_order_on_file"]


def test_users_assignment_order_through_the_lifecycle(run: CliRunner, settings: Settings) -> None:
    with TestClient(create_app(settings), base_url=ISSUER) as client:
        services = client.app.state.ctx.services  # type: ignore[attr-defined]
        user = create_user(services)
        marked = run.invoke(main, ["users", "assignment-order", user.user_id, "--on-file"])
        assert marked.exit_code == 0, marked.output
        assert marked.output.strip() == (
            f"{user.user_id}: assignment order on file (state: provisioned)"
        )
        assert _on_file(run, user.user_id) is True
        unmarked = run.invoke(main, ["users", "assignment-order", user.user_id, "--not-on-file"])
        assert unmarked.exit_code == 0, unmarked.output
        assert "not on file" in unmarked.output
        assert _on_file(run, user.user_id) is False
        neither = run.invoke(main, ["users", "assignment-order", user.user_id])
        assert neither.exit_code == 2
        assert "--on-file" in neither.output
        missing = run.invoke(main, ["users", "assignment-order", new_user_id(), "--on-file"])
        assert missing.exit_code == 1
        assert "no user with this ID" in missing.output
        support.approve_registration(services, user.user_id)
        late = run.invoke(main, ["users", "assignment-order", user.user_id, "--on-file"])
        assert late.exit_code == 1
        assert "ทำรายการนี้กับบัญชีในสถานะปัจจุบันไม่ได้" in late.output
        assert "not allowed in the account's state" in late.output
        assert _on_file(run, user.user_id) is False
        with services.db.read() as session:
            actions = list(
                session.scalars(
                    select(AuditEvent.detail).where(
                        AuditEvent.subject == user.user_id,
                        AuditEvent.action == "user.assignment_order",
                        AuditEvent.actor == "cli",
                    )
                )
            )
        assert [a["on_file"] for a in actions] == [True, False]


def test_serve_gives_a_starting_worker_time_to_answer_uvicorn(
    run: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn kills a worker that has not answered its ping within timeout_worker_healthcheck
    (default 5 s) and starts another: on a loaded host a worker's start took longer, and the
    workers of the 30-minute soak were killed and respawned until it gave up."""
    import signal

    import uvicorn

    passed: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **kwargs: passed.update(kwargs))
    monkeypatch.setattr(signal, "signal", lambda *_args: None)  # serve's SIGTERM handler
    result = run.invoke(main, ["serve", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert passed["timeout_worker_healthcheck"] == 30
