"""Bad input that once reached past the admin and device APIs' checks (a 500, or PostgreSQL's
error): each is now a 4xx with the field, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.storage.models import User
from tests import support
from tests.fuzz.conftest import ADMIN_API, admin_token

CSV_HEADER = (
    "user_id,name_th,name_en,email,mobile,unit_code,unit_name,division,department,ministry,"
    "initial_password\r\n"
)


def _officer(app_client: TestClient) -> dict[str, str]:
    services = app_client.app.state.ctx.services  # type: ignore[attr-defined]
    officer = support.create_user(services).user_id
    with services.db.session() as session:
        user = session.get(User, officer)
        assert user is not None
        user.roles = ["admin", "officer"]
    return {"Authorization": "Bearer " + admin_token(app_client, officer)}


def _row(**fields: str) -> str:
    values = {
        "user_id": "T" + "1" * 14,
        "name_th": "นางสาวทดสอบ ระบบ",
        "name_en": "Ms Test",
        "email": "t@example.go.th",
        "mobile": "0812345678",
        "unit_code": "0500500000",
        "unit_name": "กองคลัง",
        "division": "กองคลัง",
        "department": "กรม",
        "ministry": "กระทรวง",
        "initial_password": "correct horse battery",
        **fields,
    }
    return ",".join(values.values()) + "\r\n"


@pytest.mark.parametrize(
    "csv",
    [
        CSV_HEADER + _row(name_th="ก" * 201),
        CSV_HEADER + _row(unit_name="x" * 301),
        CSV_HEADER + _row(name_en="a\x00b"),
        CSV_HEADER + _row(name_en="x" * 140_000),
        CSV_HEADER,
    ],
    ids=["long-name", "long-unit", "nul", "huge-field", "no-rows"],
)
def test_a_csv_import_the_database_could_not_store_is_refused(
    app_client: TestClient, csv: str
) -> None:
    response = app_client.post(
        ADMIN_API + "/users/import",
        content=csv.encode(),
        headers={**_officer(app_client), "content-type": "text/csv"},
    )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/service-requests", {"reasons": 5}),
        ("/service-requests", {"new_holder": "x", "reasons": ["holder_moved"]}),
        ("/service-requests", {"unit_name": "x" * 301}),
        ("/service-requests", {"other_text": 5}),
        ("/service-requests", {"requester_name": "a\x00b"}),
    ],
)
def test_a_service_request_form_of_the_wrong_shape_is_refused(
    app_client: TestClient, path: str, body: dict[str, Any]
) -> None:
    services = app_client.app.state.ctx.services  # type: ignore[attr-defined]
    user = support.create_user(services).user_id
    form = {
        "user_id": user,
        "unit_code": "0500500000",
        "unit_name": "กองคลัง",
        "requester_name": "นายทดสอบ ระบบ",
        "registered_email": f"{user.lower()}@example.go.th",
        "mobile": "0812345678",
        "division": "กองคลัง",
        "department": "กรมตัวอย่าง",
        "ministry": "กระทรวงการคลัง",
        "reasons": ["change_phone"],
        **body,
    }
    response = app_client.post(ADMIN_API + path, json=form, headers=_officer(app_client))
    assert response.status_code == 400, response.text


def test_a_client_edit_with_non_string_uris_is_refused(app_client: TestClient) -> None:
    services = app_client.app.state.ctx.services  # type: ignore[attr-defined]
    rp = support.create_client(services)
    response = app_client.patch(
        f"{ADMIN_API}/clients/{rp.client_id}",
        json={"redirect_uris": [5]},
        headers=_officer(app_client),
    )
    assert response.status_code == 400, response.text


def test_a_reason_with_a_nul_is_refused(app_client: TestClient) -> None:
    services = app_client.app.state.ctx.services  # type: ignore[attr-defined]
    user = support.create_user(services).user_id
    response = app_client.post(
        f"{ADMIN_API}/users/{user}/device/revoke",
        json={"reason": "lost\x00"},
        headers=_officer(app_client),
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "reason"


def test_an_audit_date_out_of_range_is_refused(app_client: TestClient) -> None:
    response = app_client.get(
        ADMIN_API + "/audit",
        params={"since": "0001-01-01T00:00:00+01:00"},
        headers=_officer(app_client),
    )
    assert response.status_code in (200, 400), response.text
