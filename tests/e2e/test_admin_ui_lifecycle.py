"""The back office and the account lifecycle, over real HTTP: the dashboard's open "not me"
alerts, a user's lifecycle state and exactly the actions it allows (lift the suspension with a
note, revoke the device, reset the password, the assignment order on file), each a form with
the session's CSRF token; the import page's column rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from idp.domain.users import REQUIRED_COLUMNS
from idp.storage.models import AuditEvent, User
from tests import admin_ui_support, push_support, support
from tests.backends import Backend


@dataclass
class Office:
    base: str
    services: support.Services
    browser: httpx.Client
    officer: admin_ui_support.Officer
    holder: admin_ui_support.Officer  # a user with a phone (no role)
    rp: support.RelyingParty


@pytest.fixture
def office(backend: Backend, tmp_path: Path) -> Iterator[Office]:
    with admin_ui_support.alert_desk(backend, tmp_path) as d:
        yield Office(d.base, d.services, d.browser, d.officer, d.holder, d.rp)


def _holder_push(office: Office) -> tuple[httpx.Client, str, httpx.Response]:
    """The holder signs in at a relying party in their own browser: a push to their phone."""
    own = httpx.Client(base_url=office.base, follow_redirects=False)
    login_url, page = push_support.push_page(
        own, office.rp, office.holder.person, support.pkce()[1]
    )
    assert office.holder.phone.pending(wait=5) is not None, page.text[:2000]
    return own, login_url, page


def _post(office: Office, path: str, page: httpx.Response, **fields: str) -> httpx.Response:
    data = {"csrf_token": support.csrf_of(page.text), "return_to": path, **fields}
    return office.browser.post(path, data=data)


def _state(page: httpx.Response) -> str:
    found = re.search(r'data-state="([a-z_]+)"', page.text)
    assert found, page.text[:3000]
    return found.group(1)


def test_a_not_me_alert_is_lifted_from_the_user_page(office: Office) -> None:
    holder = office.holder.person.user_id
    own, _, _ = _holder_push(office)
    assert office.holder.phone.deny(not_me=True)["status"] == "not_me"
    own.close()

    dashboard = admin_ui_support.sign_in(office.browser, office.officer)
    assert dashboard.status_code == 200, dashboard.text[:2000]
    assert f'data-user="{holder}"' in dashboard.text
    assert f'href="/admin/users/{holder}"' in dashboard.text
    assert "127.0.0.1" in dashboard.text
    assert re.search(r'data-count="not_me_alerts">1<', dashboard.text)

    path = f"/admin/users/{holder}"
    page = office.browser.get(path)
    assert _state(page) == "suspended"
    assert "ระงับชั่วคราว" in page.text
    for form in ("/lift-suspension", "/device/revoke", "/reset-password"):
        assert f'action="{path}{form}"' in page.text, form
    assert f'action="{path}/assignment-order"' not in page.text  # approved: too late

    forged = office.browser.post(
        path + "/lift-suspension", data={"csrf_token": "forged", "note": "x"}
    )
    assert forged.status_code == 400
    no_note = _post(office, path + "/lift-suspension", page, note=" ")
    assert no_note.status_code == 303
    assert "ต้องบันทึกผลการโทรศัพท์" in office.browser.get(path).text
    assert _state(office.browser.get(path)) == "suspended"

    page = office.browser.get(path)
    lifted = _post(office, path + "/lift-suspension", page, note="โทรแล้ว ผู้ใช้กดผิด")
    assert lifted.status_code == 303
    after = office.browser.get(path)
    assert "ยกเลิกการระงับแล้ว" in after.text
    assert _state(after) == "device_active"
    assert f'action="{path}/lift-suspension"' not in after.text
    assert f'action="{path}/device/revoke"' in after.text
    assert f'data-user="{holder}"' not in office.browser.get("/admin/").text
    with office.services.db.read() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject == holder, AuditEvent.action == "device.suspension_lifted"
            )
        ).one()
    assert event.actor == office.officer.person.user_id
    assert event.detail["note"] == "โทรแล้ว ผู้ใช้กดผิด"

    # the holder's pushes work again
    own, login_url, push = _holder_push(office)
    shown = push_support.shown_pictures(push.text)
    assert office.holder.phone.approve(push_support.PIN, shown)["status"] == "approved"
    assert "code" in push_support.finish_push(own, login_url, push, office.rp.redirect_uri)
    own.close()

    # a page out of date: the lifecycle refuses, and the officer is told why
    stale = _post(office, path + "/lift-suspension", page, note="again")
    assert stale.status_code == 409
    assert "ทำรายการนี้กับบัญชีในสถานะปัจจุบันไม่ได้" in stale.text


def test_the_assignment_order_is_marked_until_the_registration_is_approved(
    office: Office,
) -> None:
    person = support.create_user(office.services)
    admin_ui_support.sign_in(office.browser, office.officer)
    path = f"/admin/users/{person.user_id}"
    page = office.browser.get(path)
    assert _state(page) == "provisioned"
    assert 'data-order="not_on_file"' in page.text
    assert f'action="{path}/lift-suspension"' not in page.text
    assert f'action="{path}/device/revoke"' not in page.text
    marked = _post(office, path + "/assignment-order", page, on_file="1")
    assert marked.status_code == 303
    page = office.browser.get(path)
    assert "มีหนังสือคำสั่งมอบหมายในแฟ้ม" in page.text
    assert 'data-order="on_file"' in page.text
    assert 'name="on_file" value="0"' in page.text  # the form now un-marks
    with office.services.db.read() as session:
        user = session.get(User, person.user_id)
        assert user is not None
        assert user.assignment_order_on_file is True

    support.approve_registration(office.services, person.user_id)
    stale = _post(office, path + "/assignment-order", page, on_file="0")
    assert stale.status_code == 409
    page = office.browser.get(path)
    assert _state(page) == "approved"
    assert f'action="{path}/assignment-order"' not in page.text
    with office.services.db.read() as session:
        user = session.get(User, person.user_id)
        assert user is not None
        assert user.assignment_order_on_file is True


def test_the_import_page_states_every_column_and_takes_a_file_without_the_optional_ones(
    office: Office,
) -> None:
    admin_ui_support.sign_in(office.browser, office.officer)
    for locale in ("en", "th"):
        office.browser.get(f"/admin/language/{locale}")
        form = office.browser.get("/admin/users/import")
        assert form.status_code == 200
        columns = re.findall(r'data-column="([a-z_]+)"', form.text)
        assert columns[:11] == list(REQUIRED_COLUMNS)
        assert columns[11:] == ["legacy_cert_fingerprint", "assignment_order_on_file"]
        assert "import.rule" not in form.text
    assert "ไม่บังคับ" in form.text
    assert "T05005000000201" in form.text
    user_id = support.new_user_id()
    values = {
        "user_id": user_id,
        "name_th": "นายนำเข้า ทดสอบ",
        "name_en": "Mr Import Test",
        "email": f"{user_id.lower()}@example.go.th",
        "mobile": "0812345678",
        "unit_code": "0500500000",
        "unit_name": "กองคลัง",
        "division": "กองคลัง",
        "department": "กรมบัญชีกลาง",
        "ministry": "กระทรวงการคลัง",
        "initial_password": "initial-password-1",
    }
    text = ",".join(REQUIRED_COLUMNS) + "\n" + ",".join(values[c] for c in REQUIRED_COLUMNS)
    done = office.browser.post(
        "/admin/users/import",
        data={
            "csrf_token": support.csrf_of(form.text),
            "return_to": "/admin/users/import",
            "csv_text": text,
            "confirm": "1",
        },
    )
    assert done.status_code == 303, done.text[:2000]
    with office.services.db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.assignment_order_on_file is False
