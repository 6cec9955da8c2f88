"""The back office shows a user's passkeys on the user page (name, added, last used, synced or
device-bound) and lets an officer rename one or remove one after ticking a confirmation, in
Thai and English, over real HTTP; each change goes through the admin API, which audits it
with the officer and emails the user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from idp.app import create_app
from idp.domain.audit import Origin
from idp.storage.models import AuditEvent, OutboxMessage, Passkey
from idp.web.context import WebContext
from tests import admin_ui_support, support
from tests.backends import Backend
from tests.live import free_port, serve
from tests.passkey_support import SoftPasskey


@dataclass
class Office:
    ctx: WebContext
    browser: httpx.Client
    officer: admin_ui_support.Officer
    holder: admin_ui_support.Officer  # a user with a phone (no role) and two passkeys
    laptop: SoftPasskey  # device-bound
    synced: SoftPasskey  # backup eligible


def _add(ctx: WebContext, user_id: str, soft: SoftPasskey, name: str) -> SoftPasskey:
    options = ctx.passkeys.registration_options(user_id, "Test")
    ctx.passkeys.register(user_id, soft.create(options), name, Origin("127.0.0.1", "test"))
    return soft


@pytest.fixture
def office(backend: Backend, tmp_path: Path) -> Iterator[Office]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    ctx: WebContext = app.state.ctx
    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        holder = admin_ui_support.make_officer(browser, ctx.services, [], tmp_path / "holder")
        officer = admin_ui_support.make_officer(browser, ctx.services, ["officer"], tmp_path / "o")
        user_id = holder.person.user_id
        laptop = _add(ctx, user_id, SoftPasskey(base, "127.0.0.1"), "Office PC")
        synced = _add(ctx, user_id, SoftPasskey(base, "127.0.0.1", backup_eligible=True), "Phone")
        admin_ui_support.sign_in(browser, officer)
        yield Office(ctx, browser, officer, holder, laptop, synced)


def _post(office: Office, path: str, page: httpx.Response, **fields: str) -> httpx.Response:
    data = {"csrf_token": support.csrf_of(page.text), "return_to": path, **fields}
    return office.browser.post(path, data=data)


def _changes(office: Office, action: str) -> list[tuple[str, str]]:
    with office.ctx.services.db.read() as session:
        rows = session.execute(
            select(AuditEvent.actor, AuditEvent.outcome).where(
                AuditEvent.subject == office.holder.person.user_id, AuditEvent.action == action
            )
        )
        return [(str(actor), str(outcome)) for actor, outcome in rows]


def test_the_user_page_lists_renames_and_removes_passkeys(office: Office) -> None:
    user_id = office.holder.person.user_id
    path = f"/admin/users/{user_id}"
    page = office.browser.get(path)
    assert page.status_code == 200, page.text[:3000]
    assert "พาสคีย์" in page.text
    for soft in (office.laptop, office.synced):
        assert f'data-passkey="{soft.credential_id}"' in page.text
    assert "Office PC" in page.text
    assert "ผูกกับอุปกรณ์เดียว" in page.text  # the laptop's
    assert "ซิงก์ข้ามอุปกรณ์" in page.text  # the synced one
    assert "ยังไม่เคยใช้" in page.text
    assert "ไม่มี Soft Token ที่ใช้งานอยู่" not in page.text  # the holder has a phone
    laptop = f"{path}/passkeys/{office.laptop.credential_id}"

    blank = _post(office, laptop + "/rename", page, name=" ")
    assert blank.status_code == 303
    assert "ชื่อพาสคีย์ต้องมี 1 ถึง 60 ตัวอักษร" in office.browser.get(path).text
    renamed = _post(office, laptop + "/rename", page, name="Lost laptop")
    assert renamed.status_code == 303
    page = office.browser.get(path)
    assert "เปลี่ยนชื่อพาสคีย์แล้ว" in page.text
    assert "Lost laptop" in page.text

    unconfirmed = _post(office, laptop + "/remove", page)
    assert unconfirmed.status_code == 303
    assert "กรุณาทำเครื่องหมายยืนยันก่อนลบพาสคีย์" in office.browser.get(path).text
    with office.ctx.services.db.read() as session:
        assert session.get(Passkey, office.laptop.credential_id) is not None
    removed = _post(office, laptop + "/remove", page, confirm="yes")
    assert removed.status_code == 303
    page = office.browser.get(path)
    assert "ลบพาสคีย์แล้ว" in page.text
    assert office.laptop.credential_id not in page.text
    assert office.synced.credential_id in page.text
    gone = _post(office, laptop + "/remove", page, confirm="yes")
    assert gone.status_code == 404
    assert "ไม่พบพาสคีย์นี้" in gone.text

    officer = office.officer.person.user_id
    assert _changes(office, "passkey.rename") == [(officer, "success")]
    assert _changes(office, "passkey.remove") == [(officer, "success")]
    with office.ctx.services.db.read() as session:
        assert session.get(Passkey, office.laptop.credential_id) is None
        mails = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.kind == "passkey_changed",
                OutboxMessage.to_address == f"{user_id.lower()}@example.go.th",
            )
        )
        assert mails == 4  # two added, one renamed, one removed


def test_passkeys_read_in_english_and_say_when_they_do_not_count(office: Office) -> None:
    user_id = office.holder.person.user_id
    office.browser.get("/admin/language/en")
    page = office.browser.get(f"/admin/users/{user_id}")
    assert '<html lang="en">' in page.text
    for words in ("Passkeys", "device-bound", "synced", "never", "Rename", "Remove the passkey"):
        assert words in page.text
    assert "Confirm the removal (the user is emailed)" in page.text
    assert "so these passkeys do not sign in" not in page.text
    office.ctx.push.revoke(user_id, "lost phone", actor=office.officer.person.user_id)
    page = office.browser.get(f"/admin/users/{user_id}")
    assert "The user holds no Soft Token, so these passkeys do not sign in" in page.text
    assert "Office PC" in page.text  # still listed, to remove
