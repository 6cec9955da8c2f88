"""Service requests (manual chapter 7) through the admin API: recording with field checks,
and processing each kind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from idp.domain.lifecycle import needs_assignment_order
from idp.storage.models import OutboxMessage, User
from tests import support
from tests.e2e.test_admin_api import API, _auth, _token
from tests.e2e.test_device_api import Phone


def _form(user_id: str, reasons: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "unit_code": "0500500000",
        "unit_name": "กองคลัง",
        "requester_name": "นางสาวทดสอบ ระบบ",
        "registered_email": "old@example.go.th",
        "mobile": "0812345678",
        "division": "กองคลัง",
        "department": "กรมตัวอย่าง",
        "ministry": "กระทรวงการคลัง",
        "reasons": reasons,
        **extra,
    }


def _mail_to(services: support.Services, address: str) -> list[str]:
    with services.db.read() as session:
        return list(
            session.scalars(select(OutboxMessage.kind).where(OutboxMessage.to_address == address))
        )


def test_bad_fields_are_named_and_nothing_is_recorded(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    token, _officer = _token(app_client, services, ["officer"])
    cases = [
        ({"unit_code": "12345"}, "unit_code"),
        ({"mobile": "0812"}, "mobile"),
        ({"user_id": "T123"}, "user_id"),
        ({"registered_email": "nope"}, "registered_email"),
        ({"reasons": ["made_up"]}, "reasons"),
    ]
    for change, field in cases:
        response = app_client.post(
            API + "/service-requests",
            headers=_auth(token),
            json={**_form(user.user_id, ["lost_phone"]), **change},
        )
        assert response.status_code == 400, change
        assert response.json()["field"] == field
    listed = app_client.get(API + "/service-requests", headers=_auth(token)).json()
    assert user.user_id not in [r["user_id"] for r in listed["items"]]


def test_lost_phone_resets_the_device(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    token, _officer = _token(app_client, services, ["officer"])
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    phone = Phone(app_client)
    support.approve_registration(services, user.user_id)
    phone.activate(push.start_activation(user.user_id).code)
    recorded = app_client.post(
        API + "/service-requests", headers=_auth(token), json=_form(user.user_id, ["lost_phone"])
    )
    assert recorded.status_code == 201
    done = app_client.post(
        f"{API}/service-requests/{recorded.json()['id']}/process", headers=_auth(token)
    )
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert push.devices.active_for(user.user_id) is None  # a new activation is allowed
    assert push.start_activation(user.user_id).code
    assert "service_request_result" in _mail_to(services, "old@example.go.th")


def test_change_of_holder_and_change_of_email(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["officer"])
    person = support.create_user(services, assignment_order_on_file=True)  # the previous holder's
    holder = {
        "name_th": "นายผู้รับ ช่วงต่อ",
        "name_en": "Mr Next Holder",
        "email": f"next-{person.user_id.lower()}@example.go.th",
        "mobile": "0899999999",
    }
    recorded = app_client.post(
        API + "/service-requests",
        headers=_auth(token),
        json=_form(
            person.user_id,
            ["holder_moved"],
            new_holder=holder,
            email_new_password=True,
            new_password_email=holder["email"],
        ),
    )
    app_client.post(f"{API}/service-requests/{recorded.json()['id']}/process", headers=_auth(token))
    with services.db.read() as session:
        record = session.get(User, person.user_id)
        assert record is not None
        assert record.name_en == "Mr Next Holder"
        assert record.must_change_password is True
        assert needs_assignment_order(record)  # the order on file named the previous holder
    assert {"holder_initial_password", "service_request_result"} <= set(
        _mail_to(services, holder["email"])
    )
    new_email = f"changed-{person.user_id.lower()}@example.go.th"
    recorded = app_client.post(
        API + "/service-requests",
        headers=_auth(token),
        json=_form(person.user_id, ["change_email"], new_email=new_email),
    )
    app_client.post(f"{API}/service-requests/{recorded.json()['id']}/process", headers=_auth(token))
    assert "email_change_link" in _mail_to(services, new_email)
    store = app_client.app.state.ctx.services.store  # type: ignore[attr-defined]
    with services.db.read() as session:
        body = session.scalars(
            select(OutboxMessage.body_text).where(
                OutboxMessage.to_address == new_email, OutboxMessage.kind == "email_change_link"
            )
        ).one()
    link = body.split("/verify-email/")[1].split()[0]
    assert store.get("email-change:" + link) is not None
    assert app_client.get("/verify-email/" + link).status_code == 200
    assert app_client.get("/verify-email/" + link).status_code == 400  # used
    with services.db.read() as session:
        record = session.get(User, person.user_id)
        assert record is not None
        assert record.email == new_email
