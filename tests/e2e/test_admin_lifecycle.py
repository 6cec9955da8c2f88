"""The admin API asks the account lifecycle: a user's state and the officer's actions in the
record, the open "not me" alerts, lifting a suspension, the assignment order on file; what the
lifecycle does not allow in the account's state is a 409. Over real HTTP, with the reference
authenticator answering "not me" on the phone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.domain.acr import ACR_PASSWORD
from idp.storage.models import AuditEvent, User
from push_auth.authenticator.client import Authenticator
from tests import push_support, support
from tests.backends import Backend
from tests.e2e.test_admin_api import API, _auth, _token
from tests.live import free_port, serve


@dataclass
class World:
    services: support.Services
    user: support.Person
    rp: support.RelyingParty
    browser: httpx.Client
    phone: Authenticator
    officer: str
    token: str

    def api(self, method: str, path: str, **options: Any) -> httpx.Response:
        return self.browser.request(method, API + path, headers=_auth(self.token), **options)


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> Iterator[World]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    user, rp = support.create_user(services), support.create_client(services)
    support.approve_registration(services, user.user_id)
    token, officer = _token(cast(TestClient, SimpleNamespace(app=app)), services, ["officer"])
    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        phone = push_support.activate(browser, user, tmp_path / "phone")
        browser.cookies.clear()
        yield World(services, user, rp, browser, phone, officer, token)


def _push(world: World) -> tuple[str, httpx.Response]:
    """A sign-in at the relying party up to the push page; the phone has the challenge."""
    world.browser.cookies.clear()
    login_url, page = push_support.push_page(world.browser, world.rp, world.user, support.pkce()[1])
    assert world.phone.pending(wait=5) is not None, page.text[:2000]
    return login_url, page


def _not_me(world: World) -> None:
    _push(world)
    assert world.phone.deny(not_me=True)["status"] == "not_me"


def _alerted(world: World) -> list[dict[str, Any]]:
    response = world.api("GET", "/alerts")
    assert response.status_code == 200, response.text
    return [a for a in response.json()["items"] if a["user_id"] == world.user.user_id]


def _lifecycle(world: World) -> dict[str, Any]:
    response = world.api("GET", f"/users/{world.user.user_id}")
    assert response.status_code == 200, response.text
    return cast(dict[str, Any], response.json()["lifecycle"])


def _actions(world: World, action: str) -> list[AuditEvent]:
    with world.services.db.read() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.subject == world.user.user_id, AuditEvent.action == action
                )
            )
        )


def test_not_me_is_an_alert_until_an_officer_lifts_the_suspension(world: World) -> None:
    assert _lifecycle(world)["state"] == "device_active"
    assert _alerted(world) == []
    _not_me(world)

    [alert] = _alerted(world)
    device_id = world.phone.home.load().device_id
    assert alert["device_id"] == device_id
    assert alert["name_th"] == "นางสาวทดสอบ ระบบ"
    assert alert["ip"] == "127.0.0.1"  # the refused sign-in's address
    assert alert["at"] == _actions(world, "push.not_me")[-1].at.isoformat()
    lifecycle = _lifecycle(world)
    assert lifecycle["state"] == "suspended"
    assert {"lift_suspension", "revoke_device", "reset_password"} <= set(
        lifecycle["officer_actions"]
    )
    assert "push" not in lifecycle["abilities"]

    path = f"/users/{world.user.user_id}/device/lift-suspension"
    no_note = world.api("POST", path, json={"note": "  "})
    assert no_note.status_code == 400
    assert no_note.json()["field"] == "note"
    assert no_note.json()["error_description_th"]
    note = "โทรสอบถามแล้ว ผู้ใช้กดผิด / called: the user pressed the wrong button"
    lifted = world.api("POST", path, json={"note": note})
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["device_id"] == device_id
    assert lifted.json()["status"] == "active"
    assert lifted.json()["lifecycle"]["state"] == "device_active"
    assert _alerted(world) == []
    [event] = _actions(world, "device.suspension_lifted")
    assert event.actor == world.officer
    assert event.detail["note"] == note[:200]

    # pushes reach the phone again, and an approval signs in
    login_url, page = _push(world)
    shown = push_support.shown_pictures(page.text)
    assert world.phone.approve(push_support.PIN, shown)["status"] == "approved"
    assert "code" in push_support.finish_push(world.browser, login_url, page, world.rp.redirect_uri)

    again = world.api("POST", path, json={"note": note})
    assert again.status_code == 409
    assert again.json()["error"] == "not_allowed"
    assert again.json()["state"] == "device_active"
    assert again.json()["error_description_th"]
    assert again.json()["error_description"]


def test_a_revoked_device_closes_the_alert(world: World) -> None:
    _not_me(world)
    assert len(_alerted(world)) == 1
    revoked = world.api(
        "POST", f"/users/{world.user.user_id}/device/revoke", json={"reason": "not me: stolen"}
    )
    assert revoked.status_code == 200, revoked.text
    assert _alerted(world) == []
    lifted = world.api(
        "POST",
        f"/users/{world.user.user_id}/device/lift-suspension",
        json={"note": "too late"},
    )
    assert lifted.status_code == 409
    assert lifted.json()["state"] not in ("suspended", "device_active")


def test_lift_suspension_without_a_device_is_409_and_audited(
    app_client: TestClient, services: support.Services
) -> None:
    token, officer = _token(app_client, services, ["officer"])
    person = support.create_user(services)
    refused = app_client.post(
        f"{API}/users/{person.user_id}/device/lift-suspension",
        headers=_auth(token),
        json={"note": "called"},
    )
    assert refused.status_code == 409
    assert refused.json()["state"] == "provisioned"
    with services.db.read() as session:
        outcomes = list(
            session.scalars(
                select(AuditEvent.outcome).where(
                    AuditEvent.actor == officer, AuditEvent.action == "admin_api.post"
                )
            )
        )
    assert outcomes == ["failure"]
    missing = app_client.post(
        f"{API}/users/T99999999999999/device/lift-suspension",
        headers=_auth(token),
        json={"note": "called"},
    )
    assert missing.status_code == 404


def test_the_assignment_order_on_file_until_the_registration_is_approved(
    app_client: TestClient, services: support.Services
) -> None:
    token, officer = _token(app_client, services, ["officer"])
    person = support.create_user(services)
    path = f"{API}/users/{person.user_id}/assignment-order"
    for bad in ({}, {"on_file": "yes"}, {"on_file": 1}):
        refused = app_client.post(path, headers=_auth(token), json=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["field"] == "on_file"

    marked = app_client.post(path, headers=_auth(token), json={"on_file": True})
    assert marked.status_code == 200, marked.text
    assert marked.json()["assignment_order_on_file"] is True
    assert marked.json()["lifecycle"]["state"] == "provisioned"
    record = app_client.get(f"{API}/users/{person.user_id}", headers=_auth(token)).json()
    assert record["user"]["assignment_order_on_file"] is True
    assert "mark_assignment_order" in record["lifecycle"]["officer_actions"]
    unmarked = app_client.post(path, headers=_auth(token), json={"on_file": False})
    assert unmarked.json()["assignment_order_on_file"] is False
    with services.db.read() as session:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.subject == person.user_id,
                    AuditEvent.action == "user.assignment_order",
                )
                .order_by(AuditEvent.id)
            )
        )
        user = session.get(User, person.user_id)
        assert user is not None
        assert user.assignment_order_on_file is False
    assert [(e.actor, e.detail["on_file"]) for e in events] == [(officer, True), (officer, False)]

    support.approve_registration(services, person.user_id)
    record = app_client.get(f"{API}/users/{person.user_id}", headers=_auth(token)).json()
    assert record["lifecycle"]["state"] == "approved"
    assert "mark_assignment_order" not in record["lifecycle"]["officer_actions"]
    late = app_client.post(path, headers=_auth(token), json={"on_file": True})
    assert late.status_code == 409
    assert late.json()["error"] == "not_allowed"
    assert late.json()["state"] == "approved"
    assert late.json()["error_description_th"] == "ทำรายการนี้กับบัญชีในสถานะปัจจุบันไม่ได้"


def test_the_new_calls_keep_the_role_and_step_up_rules(
    app_client: TestClient, services: support.Services
) -> None:
    person = support.create_user(services)
    auditor, _ = _token(app_client, services, ["auditor"])
    assert app_client.get(f"{API}/alerts", headers=_auth(auditor)).status_code == 403
    stale, _ = _token(app_client, services, ["officer"], acr=ACR_PASSWORD)
    assert app_client.get(f"{API}/alerts", headers=_auth(stale)).status_code == 200
    for path, body in (
        ("device/lift-suspension", {"note": "called"}),
        ("assignment-order", {"on_file": True}),
    ):
        asked = app_client.post(
            f"{API}/users/{person.user_id}/{path}", headers=_auth(stale), json=body
        )
        assert asked.status_code == 401, path
        assert "insufficient_user_authentication" in asked.headers["www-authenticate"]
    with services.db.read() as session:
        user = session.get(User, person.user_id)
        assert user is not None
        assert user.assignment_order_on_file is False
