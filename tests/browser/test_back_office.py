"""The back office in real headless Chromium: an officer signs in with push, approves and
rejects registrations, records and processes each kind of service request, creates a relying
party, and exports the audit log. Mail goes through a real SMTP server on loopback."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from idp.domain.acr import ACR_PUSH
from idp.storage.models import Client, Registration, ServiceRequest, User
from tests import admin_ui_support, push_support, support
from tests.backends import Backend
from tests.e2e.test_admin_manage import PDF, _registration
from tests.registration_support import World, registration_world
from tests.smtp import text_of


@dataclass
class Desk:
    world: World
    officer: admin_ui_support.Officer
    page: Page

    def go(self, path: str) -> None:
        self.page.goto(self.world.base + "/admin" + path)


def sign_in_with_push(page: Page, base: str, officer: admin_ui_support.Officer) -> None:
    """What an officer does: the IdP's sign-in form, then the pictures tapped on the phone;
    the push page's own script notices the approval and carries on to the back office."""
    page.goto(base + "/admin/")
    page.fill("#username", officer.person.user_id)
    page.fill("#password", officer.person.password)
    page.click("button[type=submit]")
    page.wait_for_selector("#push-form")
    shown = push_support.shown_pictures(page.content())
    assert officer.phone.pending(wait=5) is not None
    assert officer.phone.approve(push_support.PIN, shown)["status"] == "approved"
    page.wait_for_url(re.compile(r"/admin/$"), timeout=15_000)


@pytest.fixture
def desk(backend: Backend, tmp_path: Path, chromium: Browser) -> Iterator[Desk]:
    with registration_world(backend, tmp_path) as world:
        officer = admin_ui_support.make_officer(
            world.browser, world.services, ["officer", "admin"], tmp_path / "phone"
        )
        context = chromium.new_context(locale="th-TH", accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            sign_in_with_push(page, world.base, officer)
            yield Desk(world, officer, page)
        finally:
            context.close()


# The page's width, Thai text not in Sarabun (this machine has no Thai font: a fallback would
# show boxes), and whether Sarabun's Thai face is loaded.
PHONE_LAYOUT = """async () => {
  await document.fonts.ready;
  const thai = /[\\u0E00-\\u0E7F]/, fallback = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const owner = walk.currentNode.parentElement;
    const family = getComputedStyle(owner).fontFamily.split(",")[0].replace(/["']/g, "");
    if (thai.test(walk.currentNode.data) && owner.getClientRects().length && family !== "Sarabun") {
      fallback.push(owner.tagName + ": " + family);
    }
  }
  const loaded = [...document.fonts].some((face) => face.family.replace(/["']/g, "") === "Sarabun"
    && face.status === "loaded" && /E01/i.test(face.unicodeRange));
  return { width: document.documentElement.scrollWidth, fallback: fallback, loaded: loaded };
}"""


def test_officer_signs_in_with_push_and_out_again(desk: Desk) -> None:
    expect(desk.page.locator("h1")).to_have_text("ภาพรวม")
    expect(desk.page.locator("svg.chart")).to_have_count(2)
    desk.page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing overflows
    for path in ("/", "/users", "/users/" + desk.officer.person.user_id, "/audit"):
        desk.go(path)
        assert desk.page.evaluate(PHONE_LAYOUT) == {"width": 390, "fallback": [], "loaded": True}
    expect(desk.page.locator("td[data-label]").first).to_be_visible()  # rows as cards
    menu = desk.page.locator("details.menu")
    expect(menu.get_by_role("link", name="ผู้ใช้งาน")).to_be_hidden()  # the menu folds
    menu.locator("summary").click()
    expect(menu.get_by_role("link", name="ผู้ใช้งาน")).to_be_visible()
    desk.page.set_viewport_size({"width": 1366, "height": 768})
    desk.go("/")  # a computer: the menu closed but shown, without its button
    expect(menu.locator("summary")).to_be_hidden()
    expect(menu.get_by_role("link", name="ผู้ใช้งาน")).to_be_visible()
    desk.page.click("text=English")
    expect(desk.page.locator("h1")).to_have_text("Dashboard")
    desk.page.click("text=Sign out")
    desk.page.wait_for_url(re.compile(r"/admin/signed-out$"))
    desk.go("/users")  # signed out: back to the IdP's sign-in form
    expect(desk.page.locator("#password")).to_be_visible()


def _waiting(world: World, email: str, name_th: str) -> tuple[str, str]:
    person = support.create_user(world.services, email=email, name_th=name_th)
    registration_id = _registration(world.services, person.user_id, PDF)
    with world.services.db.session() as session:
        found = session.get(Registration, registration_id)
        assert found is not None
        found.email = email
        found.national_id = "1101700203450"
        found.proofing = {
            "issuer": "https://upstream.example",
            "claims": {"national_id": "1101700203450", "name_th": "นางสาวสมหญิง ใจดี"},
        }
    return person.user_id, registration_id


def test_approving_and_rejecting_registrations(desk: Desk) -> None:
    world = desk.world
    tag = support.new_user_id().lower()
    approve_id, _ = _waiting(world, f"a-{tag}@example.go.th", "นางสาวสมหญิง ใจดี")
    reject_id, _ = _waiting(world, f"r-{tag}@example.go.th", "นายอื่น ชื่อไม่ตรง")

    desk.go("/registrations?q=" + approve_id)
    desk.page.get_by_role("link", name="เปิด").click()
    expect(desk.page.locator("iframe.pdf")).to_be_visible()
    expect(desk.page.locator("tr.differs")).to_have_count(0)
    desk.page.get_by_role("button", name="อนุมัติ", exact=True).click()
    expect(desk.page.locator(".flash")).to_contain_text("อนุมัติการลงทะเบียนแล้ว")

    desk.go("/registrations?q=" + reject_id)
    desk.page.get_by_role("link", name="เปิด").click()
    expect(desk.page.locator("tr.differs")).to_have_count(1)  # the Thai name differs
    desk.page.get_by_role(
        "button", name="ไม่อนุมัติ", exact=True
    ).click()  # no reason yet: the browser refuses
    expect(desk.page.locator("textarea[name=reason]")).to_be_visible()
    desk.page.fill("textarea[name=reason]", "ชื่อไม่ตรงกับหนังสือคำสั่ง")
    desk.page.get_by_role("button", name="ไม่อนุมัติ", exact=True).click()
    expect(desk.page.locator(".flash")).to_contain_text("ไม่อนุมัติการลงทะเบียน")

    with world.services.db.read() as session:
        statuses = {
            r.user_id: r.status
            for r in session.query(Registration).filter(
                Registration.user_id.in_([approve_id, reject_id])
            )
        }
    assert statuses == {approve_id: "approved", reject_id: "rejected"}
    rejected_mail = world.inbox.wait_for(1, to=f"r-{tag}@example.go.th")
    assert "ชื่อไม่ตรงกับหนังสือคำสั่ง" in text_of(rejected_mail[0])
    assert world.inbox.wait_for(1, to=f"a-{tag}@example.go.th")


def _record_request(desk: Desk, user_id: str, reasons: list[str], **extra: str) -> None:
    page = desk.page
    desk.go("/service-requests/new")
    for name, value in {
        "unit_code": "0500500000",
        "unit_name": "กองคลัง",
        "requester_name": "นางสาวทดสอบ ระบบ",
        "registered_email": f"old-{user_id.lower()}@example.go.th",
        "mobile": "0812345678",
        "division": "กองคลัง",
        "department": "กรมตัวอย่าง",
        "ministry": "กระทรวงการคลัง",
        "user_id": user_id,
    }.items():
        page.fill(f"input[name='{name}']", value)
    for reason in reasons:
        page.check(f"input[name=reasons][value={reason}]")
    for name, value in extra.items():
        if name == "form_pdf":
            page.set_input_files("input[name=form_pdf]", value)
        elif name == "email_new_password":
            page.check(f"input[name=email_new_password][value={value}]")
        else:
            page.fill(f"input[name='{name}']", value)
    page.click("button:has-text('บันทึกคำร้อง')")
    expect(page.locator(".flash")).to_contain_text("บันทึกคำร้องแล้ว")


def test_each_kind_of_service_request(desk: Desk, tmp_path: Path) -> None:
    world, page = desk.world, desk.page
    signed_form = tmp_path / "signed-form.pdf"
    signed_form.write_bytes(PDF)
    lost, moved, renamed = (support.create_user(world.services).user_id for _ in range(3))

    _record_request(desk, lost, ["lost_phone"], form_pdf=str(signed_form))
    expect(page.locator("a:has-text('PDF')")).to_be_visible()
    page.click("button:has-text('ดำเนินการตามคำร้อง')")
    expect(page.locator(".flash")).to_contain_text("ดำเนินการตามคำร้องแล้ว")
    expect(page.locator("dd.result")).not_to_have_text("–")

    new_email = f"new-{renamed.lower()}@example.go.th"
    _record_request(desk, renamed, ["change_email"], new_email=new_email)
    page.click("button:has-text('ดำเนินการตามคำร้อง')")
    expect(page.locator(".flash")).to_contain_text("ดำเนินการตามคำร้องแล้ว")
    assert "/verify-email/" in text_of(world.inbox.wait_for(1, to=new_email)[0])

    holder_email = f"holder-{moved.lower()}@example.go.th"
    _record_request(
        desk,
        moved,
        ["holder_moved"],
        **{
            "new_holder.name_th": "นายผู้รับ ช่วงต่อ",
            "new_holder.name_en": "Mr Next Holder",
            "new_holder.email": holder_email,
            "new_holder.mobile": "0899999999",
            "email_new_password": "yes",
            "new_password_email": holder_email,
        },
    )
    page.click("button:has-text('ดำเนินการตามคำร้อง')")
    expect(page.locator(".flash")).to_contain_text("ดำเนินการตามคำร้องแล้ว")
    kinds = [m["Subject"] for m in world.inbox.wait_for(2, to=holder_email)]
    assert len(kinds) >= 2  # the initial password and the result

    with world.services.db.read() as session:
        done = {
            r.user_id: r.status
            for r in session.query(ServiceRequest).filter(
                ServiceRequest.user_id.in_([lost, moved, renamed])
            )
        }
        holder = session.get(User, moved)
        assert holder is not None
        assert holder.name_en == "Mr Next Holder"
        form_sha = session.query(ServiceRequest.form_pdf_sha256).filter_by(user_id=lost).scalar()
    assert done == {lost: "done", moved: "done", renamed: "done"}
    assert form_sha == hashlib.sha256(PDF).hexdigest()


def test_a_bad_field_is_named_and_nothing_is_recorded(desk: Desk) -> None:
    user_id = support.new_user_id()
    desk.go("/service-requests/new")
    page = desk.page
    for name in ("unit_name", "requester_name", "division", "department", "ministry"):
        page.fill(f"input[name={name}]", "ทดสอบ")
    page.fill("input[name=unit_code]", "0500500000")
    page.fill("input[name=registered_email]", "someone@example.go.th")
    page.fill("input[name=mobile]", "0812")
    page.fill("input[name=user_id]", user_id)
    page.check("input[name=reasons][value=lost_phone]")
    page.click("button:has-text('บันทึกคำร้อง')")
    expect(page.locator(".error")).to_contain_text("10")
    expect(page.locator("input[name=mobile]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("input[name=ministry]")).to_have_value("ทดสอบ")  # nothing retyped
    with desk.world.services.db.read() as session:
        assert session.query(ServiceRequest).filter_by(user_id=user_id).count() == 0


def test_creating_a_relying_party_shows_its_secret_once(desk: Desk) -> None:
    page = desk.page
    client_id = "budget-" + support.new_user_id().lower()
    desk.go("/clients/new")
    page.fill("input[name=client_id]", client_id)
    page.fill("input[name=name]", "ระบบงบประมาณ")
    page.fill("textarea[name=redirect_uris]", "https://budget.example.go.th/callback")
    page.fill("input[name=backchannel_logout_uri]", "https://budget.example.go.th/bcl")
    page.check("input[name=scope][value=gfmis]")
    page.check("input[name=allowed_claims][value=verified_claims]")
    page.click("button:has-text('เพิ่ม')")
    secret = page.locator("[data-secret]").inner_text().strip()
    assert len(secret) >= 32
    with desk.world.services.db.read() as session:
        client = session.get(Client, client_id)
        assert client is not None
        assert client.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert client.allowed_claims == ["verified_claims"]
        assert "gfmis" in client.scope.split()
    desk.go("/clients")
    expect(page.locator(f"text={client_id}")).to_be_visible()

    desk.go(f"/clients/{client_id}")  # stricter: always push, shorter access tokens
    page.select_option("select[name=min_acr]", ACR_PUSH)
    page.fill("input[name=access_token_ttl]", "999999")
    page.click("button:has-text('บันทึก')")
    expect(page.locator("input[name=access_token_ttl]")).to_have_attribute("aria-invalid", "true")
    page.fill("input[name=access_token_ttl]", "300")
    page.click("button:has-text('บันทึก')")
    expect(page.locator(".flash")).to_contain_text("บันทึกการตั้งค่าแล้ว")
    with desk.world.services.db.read() as session:
        client = session.get(Client, client_id)
        assert client is not None
        assert (client.min_acr, client.access_token_ttl) == (ACR_PUSH, 300)


def test_exporting_the_audit_log(desk: Desk) -> None:
    page = desk.page
    desk.go("/audit?action=login.password")
    expect(page.locator("table.list tbody tr").first).to_contain_text("login.password")
    with page.expect_download() as download:
        page.click("text=ส่งออกเป็น CSV")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    assert {r["action"] for r in rows} == {"login.password"}
    assert desk.officer.person.user_id in {r["actor"] for r in rows}
