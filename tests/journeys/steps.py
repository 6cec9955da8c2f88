"""The journeys' shared steps, each what one person does: the user in the desktop browser, on
the phone (the reference authenticator, and a phone-sized browser for the trip to the
simulated "Pao Tang" upstream) and in the mailbox; the officer in the back office.

Every step asserts what the person sees, in Thai (the browsers' locale is th-TH)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Browser, BrowserContext, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from idp.domain.acr import ACR_PUSH
from idp.upstream.citizens import CITIZENS
from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.qr import read_qr
from push_auth.authenticator.state import Home
from tests import admin_ui_support, push_support, support
from tests.backends import Backend
from tests.journeys.world import journey_world
from tests.live import free_port, serve
from tests.registration_support import World
from tests.smtp import text_of

PIN = push_support.PIN
SOMYING, SOMCHAI = CITIZENS[0], CITIZENS[1]  # test citizens of the simulated upstream


# -- the journey's world ---------------------------------------------------------------------
class RelyingPartySite:
    """The relying party's own web site on loopback: its redirect_uri answers the browser with
    a page of its own, and its back-channel logout endpoint keeps the logout tokens."""

    def __init__(self) -> None:
        self.logout_tokens: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/callback", self._callback),
                Route("/backchannel-logout", self._logout, methods=["POST"]),
            ]
        )

    async def _callback(self, request: Request) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>RP</title><h1>ระบบงานปลายทาง</h1>")

    async def _logout(self, request: Request) -> PlainTextResponse:
        self.logout_tokens.append(str((await request.form())["logout_token"]))
        return PlainTextResponse("ok")


@dataclass
class Journey:
    world: World
    chromium: Browser
    tmp: Path
    rp_base: str
    rp_site: RelyingPartySite
    contexts: list[BrowserContext] = field(default_factory=list)
    phones: list[Authenticator] = field(default_factory=list)
    _desk: Page | None = None

    @property
    def base(self) -> str:
        return self.world.base

    @property
    def services(self) -> support.Services:
        return self.world.services

    def desk(self) -> Page:
        """The officer's back office, signed in with push in a browser of its own."""
        if self._desk is None:
            self._desk = officer_signs_in(self)
        return self._desk


@contextmanager
def journey(
    backend: Backend, tmp_path: Path, chromium: Browser, **sections: Any
) -> Iterator[Journey]:
    site, port = RelyingPartySite(), free_port()
    with journey_world(backend, tmp_path, **sections) as world, serve(site.app, port):
        j = Journey(world, chromium, tmp_path, f"http://localhost:{port}", site)
        try:
            yield j
        finally:
            for context in j.contexts:
                context.close()
            for phone in j.phones:
                phone.http.close()


@dataclass(frozen=True)
class Citizen:
    """A person of this journey: the user record, the citizen proofed, the registration email."""

    user_id: str
    password: str
    pid: str
    name_th: str
    email: str  # the email verified at registration (step 3), not the record's

    def with_password(self, password: str) -> Citizen:
        return Citizen(self.user_id, password, self.pid, self.name_th, self.email)


def imported_user(j: Journey, citizen: dict[str, Any] = SOMYING, **fields: Any) -> Citizen:
    """An officer-imported user whose names match the citizen's (record email ≠ registration's)."""
    fields.setdefault("name_th", citizen["name"])
    fields.setdefault("name_en", citizen["name_en"])
    person = support.create_user(j.services, **fields)
    email = f"{person.user_id.lower()}@mail.example.go.th"
    return Citizen(person.user_id, person.password, citizen["pid"], fields["name_th"], email)


def new_password() -> str:
    return "ทุ่งรวงทอง ฟ้าใส " + secrets.token_hex(4)


def relying_party(j: Journey, **spec: Any) -> support.RelyingParty:
    """A client whose redirect_uri is the journey's relying-party site."""
    spec.setdefault("redirect_uris", [j.rp_base + "/callback"])
    return support.create_client(j.services, **spec)


# -- browsers ----------------------------------------------------------------------------------
def desktop(j: Journey, **options: Any) -> Page:
    """The user's computer: a fresh browser profile in Thai."""
    context = j.chromium.new_context(
        locale="th-TH", viewport={"width": 1280, "height": 900}, **options
    )
    j.contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def phone_browser(j: Journey) -> Page:
    """The phone's browser, for the proofing trip (the desktop shows a QR code and a link)."""
    context = j.chromium.new_context(
        locale="th-TH",
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    j.contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def heading(page: Page, text: str) -> None:
    expect(page.locator("h1")).to_have_text(text)


# -- the relying party ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RpRequest:
    rp: support.RelyingParty
    verifier: str
    state: str
    nonce: str


def start_at_rp(page: Page, j: Journey, rp: support.RelyingParty, **extra: str) -> RpRequest:
    """The relying party sends the browser to /authorize (code flow with PKCE)."""
    verifier, challenge = support.pkce()
    params = support.authorize_params(rp, challenge, **extra)
    page.goto(j.base + "/authorize?" + urlencode(params))
    return RpRequest(rp, verifier, params["state"], params["nonce"])


def back_at_rp(page: Page, request: RpRequest) -> str:
    """The browser arrives at the relying party's redirect_uri with a code; the code."""
    page.wait_for_url(re.compile("^" + re.escape(request.rp.redirect_uri) + r"\?"))
    heading(page, "ระบบงานปลายทาง")
    query = support.query_of(page.url)
    assert "error" not in query, query
    assert query["state"] == request.state
    return query["code"]


@dataclass(frozen=True)
class Tokens:
    claims: dict[str, Any]
    raw: dict[str, Any]


def rp_exchanges(j: Journey, request: RpRequest, code: str) -> Tokens:
    """The relying party's back channel: the code for tokens; the ID token checked."""
    with httpx.Client(base_url=j.base) as backchannel:
        response = support.exchange(backchannel, request.rp, code, request.verifier)
        assert response.status_code == 200, response.text
        keys = KeySet.import_key_set(backchannel.get("/jwks").json())
    raw = response.json()
    claims = dict(jwt.decode(raw["id_token"], keys).claims)
    assert claims["nonce"] == request.nonce
    assert claims["iss"] == j.base
    return Tokens(claims, raw)


def signed_in_with_push(j: Journey, page: Page, request: RpRequest, user_id: str) -> Tokens:
    tokens = rp_exchanges(j, request, back_at_rp(page, request))
    assert tokens.claims["sub"] == user_id
    assert tokens.claims["acr"] == ACR_PUSH
    assert "swk" in tokens.claims["amr"]
    return tokens


# -- signing in -------------------------------------------------------------------------------
def sign_in_with_password(page: Page, user_id: str, password: str) -> None:
    heading(page, "เข้าสู่ระบบ")
    page.fill("#username", user_id)
    page.fill("#password", password)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()


def refused_sign_in(page: Page) -> None:
    heading(page, "เข้าสู่ระบบ")
    expect(page.locator("#form-error")).to_have_text("รหัสผู้ใช้หรือรหัสผ่านไม่ถูกต้อง")


def change_password(page: Page, current: str, new: str) -> None:
    """The forced change: the policy on screen, the "save?" dialog, then "sign in again"."""
    heading(page, "กรุณาเปลี่ยน Password ใช้งาน")
    expect(page.locator("ul.policy li")).to_have_count(3)
    expect(page.locator("ul.policy")).to_contain_text("ยาวอย่างน้อย 12 ตัวอักษร")
    page.fill("#current_password", current)
    page.fill("#new_password", new)
    page.fill("#confirm_password", new)
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.get_by_role("button", name="บันทึก").click()
    heading(page, "เปลี่ยนรหัสผ่านเรียบร้อยแล้ว")
    assert asked == ["ต้องการบันทึกข้อมูล ใช่หรือไม่"]
    expect(page.get_by_text("กรุณา Login เข้าระบบใหม่ ด้วยรหัสผ่านใหม่")).to_be_visible()
    page.get_by_role("link", name="เข้าสู่ระบบ").click()


def approve_on_phone(page: Page, phone: Authenticator) -> list[int]:
    """The computer shows four pictures; the phone taps them in order; the page goes on by
    itself (its script polls). Returns the pictures shown."""
    heading(page, "อนุมัติบนโทรศัพท์มือถือ")
    expect(page.get_by_text("เปิดแอป Soft Token แล้วแตะรูปภาพต่อไปนี้ตามลำดับ:")).to_be_visible()
    expect(page.locator("ol.pictures li")).to_have_count(4)
    shown = push_support.shown_pictures(page.content())
    assert len(shown) == 4
    pending = phone.pending(wait=5)
    assert pending is not None, "the phone got no request"
    assert phone.approve(PIN, shown)["status"] == "approved"
    return shown


def sign_in_at_rp(
    j: Journey, page: Page, rp: support.RelyingParty, who: Citizen, phone: Authenticator
) -> Tokens:
    """A whole sign-in of an active user: password, pictures on the phone, back at the RP."""
    request = start_at_rp(page, j, rp)
    sign_in_with_password(page, who.user_id, who.password)
    approve_on_phone(page, phone)
    return signed_in_with_push(j, page, request, who.user_id)


# -- the mailbox -------------------------------------------------------------------------------
def subject_of(message: Message) -> str:
    return str(make_header(decode_header(str(message["Subject"]))))


def _matching(j: Journey, to: str, subject: str) -> list[str]:
    return [text_of(m) for m in j.world.inbox.wait_for(0, to=to) if subject in subject_of(m)]


def mails(j: Journey, to: str, subject: str, count: int = 1, timeout: float = 15.0) -> list[str]:
    """The texts of the emails to `to` whose subject has `subject`, once there are `count`."""
    deadline = time.monotonic() + timeout
    while True:
        found = _matching(j, to, subject)
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"no email «{subject}» to {to}"
            return found
        time.sleep(0.05)


def no_mail(j: Journey, to: str) -> None:
    assert j.world.inbox.wait_for(1, timeout=0.5, to=to) == [], f"an email went to {to}"


def code_in(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, text
    return match.group(1)


def password_in(text: str) -> str:
    match = re.search(r"^([A-Za-z0-9]{16})$", text, re.M)
    assert match, text
    return match.group(1)


# -- registration (manual chapter 2) -----------------------------------------------------------
def step_is(page: Page, number: int, text: str, state: str = "ขั้นตอนปัจจุบัน") -> None:
    item = page.locator("ol.steps li").nth(number - 1)
    expect(item).to_contain_text(f"ขั้นตอนที่ {number} : {text}")
    expect(item).to_contain_text(state)


def register_identity(page: Page, who: Citizen, upload: bool) -> None:
    """Step 1: the national ID, the PDPA consent, and the assignment order when not on file."""
    heading(page, "ลงทะเบียน Soft Token")
    expect(page.locator("ol.steps li")).to_have_count(5)
    step_is(page, 1, "การลงทะเบียน")
    expect(page.get_by_text("ความยินยอมในการใช้ข้อมูลส่วนบุคคล (PDPA)")).to_be_visible()
    page.fill("#national_id", who.pid)
    order = page.locator("#assignment_order")
    if upload:
        expect(page.get_by_text("หนังสือมอบหมาย (ไฟล์ PDF ขนาดไม่เกิน 10 MB)")).to_be_visible()
        pdf = {"name": "order.pdf", "mimeType": "application/pdf", "buffer": support.pdf_bytes()}
        order.set_input_files(pdf)
    else:
        expect(order).to_have_count(0)
    page.check("input[name=consent][value=yes]")
    page.get_by_role("button", name="ถัดไป").click()


def prove_identity_on_phone(page: Page, phone: Page, who: Citizen) -> None:
    """Step 2: the desktop shows a QR code and a link; the phone opens it, chooses the citizen
    at the upstream and consents; the desktop notices by itself and shows step 3."""
    step_is(page, 1, "การลงทะเบียน", "เสร็จแล้ว")
    step_is(page, 2, "พิสูจน์ตัวตนผ่านแอปพลิเคชันเป๋าตัง")
    expect(page.get_by_alt_text("QR Code สำหรับพิสูจน์ตัวตน")).to_be_visible()
    link = page.get_by_role("link", name="หรือเปิดลิงก์นี้บนโทรศัพท์มือถือ").get_attribute("href")
    assert link is not None
    assert "/register/proof/" in link
    phone.goto(link)
    expect(phone.get_by_text("เลือกประชาชนทดสอบ / choose a test citizen")).to_be_visible()
    phone.check(f"input[name=pid][value='{who.pid}']")
    phone.get_by_role("button", name="ยินยอม / Allow").click()
    heading(phone, "พิสูจน์ตัวตนเรียบร้อยแล้ว")
    expect(phone.get_by_text("กรุณากลับไปดำเนินการต่อที่เครื่องคอมพิวเตอร์")).to_be_visible()
    expect(page.locator("h2")).to_have_text("ตรวจสอบข้อมูลของท่าน")


def page_details_hold(page: Page) -> None:
    """Issue #16 on step 3: the wait for a new code counts down and holds the button (the
    server's seconds, then JavaScript), the email field is as wide as the code's, and no step
    state is slanted (Sarabun has no italic: a browser would fake one for Thai)."""
    wait = page.locator("#resend-wait [data-seconds]")
    expect(wait).to_be_visible()
    expect(page.locator("#send-code")).to_be_disabled()
    first = wait.inner_text()
    expect(wait).not_to_have_text(first, timeout=3000)  # counting down
    assert 0 < int(wait.inner_text()) < int(first) <= 90
    email, otp = (page.locator(f"#{field}").bounding_box() for field in ("email", "otp"))
    assert email is not None
    assert otp is not None
    assert email["width"] == otp["width"]
    slant = "e => getComputedStyle(e).fontStyle"
    assert {s.evaluate(slant) for s in page.locator("ol.steps .step-state").all()} == {"normal"}


def verify_email(page: Page, j: Journey, who: Citizen) -> None:
    """Step 3: review, then the email with its one-time code read from the mailbox."""
    step_is(page, 3, "ตรวจสอบและยืนยันข้อมูล")
    review = page.locator("dl.review")
    expect(review).to_contain_text(who.user_id)
    expect(review).to_contain_text(who.name_th)
    page.fill("#email", who.email)
    earlier = len(_matching(j, who.email, "รหัส OTP ยืนยันอีเมล"))
    page.get_by_role("button", name="ส่งรหัส OTP").click()
    expect(page.get_by_label("รหัส OTP 6 หลักจากอีเมล")).to_be_visible()
    page_details_hold(page)
    sent = mails(j, who.email, "รหัส OTP ยืนยันอีเมล", count=earlier + 1)
    page.fill("#otp", code_in(sent[-1]))
    page.get_by_role("button", name="ยืนยัน", exact=True).click()
    expect(page.get_by_text("ยืนยันอีเมลแล้ว: " + who.email)).to_be_visible()


def confirm_registration(page: Page, approved_at_once: bool) -> None:
    page.get_by_role("button", name="ยืนยันข้อมูล").click()
    if approved_at_once:
        step_is(page, 4, "รออนุมัติลงทะเบียน", "เสร็จแล้ว")
        step_is(page, 5, "ลงทะเบียน Soft Token")
        expect(
            page.get_by_text("ได้รับการอนุมัติแล้ว กรุณาลงทะเบียนแอป Soft Token เพื่อเสร็จสิ้น")
        ).to_be_visible()
    else:
        step_is(page, 4, "รออนุมัติลงทะเบียน", "รออนุมัติ")
        expect(page.get_by_text("รออนุมัติการลงทะเบียน ท่านจะได้รับแจ้งผลทางอีเมล")).to_be_visible()


def register(page: Page, j: Journey, who: Citizen, upload: bool, approved_at_once: bool) -> None:
    """Steps 1 to 3 and the confirmation, the proofing trip on a phone-sized browser."""
    register_identity(page, who, upload)
    prove_identity_on_phone(page, phone_browser(j), who)
    verify_email(page, j, who)
    confirm_registration(page, approved_at_once)


def activate_phone(page: Page, j: Journey, name: str) -> Authenticator:
    """Step 5 at /activate: the QR code (its PNG, fetched with the page's cookies) read by the
    authenticator, a PIN set; the page notices by itself."""
    heading(page, "ลงทะเบียน Soft Token")
    expect(page.get_by_alt_text("QR Code สำหรับลงทะเบียน")).to_be_visible()
    expect(page.get_by_text("กรุณาอย่าปิดหน้านี้จนกว่าการลงทะเบียนจะเสร็จสิ้น")).to_be_visible()
    png = page.request.get(urljoin(page.url, "/activate/qr.png"))
    assert png.ok, png.status
    assert png.headers["content-type"] == "image/png"
    image = j.tmp / f"{name}-qr.png"
    image.write_bytes(png.body())
    phone = Authenticator(Home(j.tmp / name), httpx.Client(timeout=40))
    j.phones.append(phone)
    phone.activate(read_qr(str(image)), PIN)
    heading(page, "ลงทะเบียน Soft Token สำเร็จ")
    expect(page.get_by_text("ต่อจากนี้ท่านเข้าสู่ระบบด้วยรหัสผ่าน และอนุมัติบนโทรศัพท์มือถือ")).to_be_visible()
    return phone


def become_active(j: Journey, page: Page, who: Citizen, phone_name: str = "phone") -> Authenticator:
    """Chapter 2 the short way (assignment order on file, names matching: approved at once):
    sign in at /register, the wizard, then activation."""
    page.goto(j.base + "/register")
    sign_in_with_password(page, who.user_id, who.password)
    register(page, j, who, upload=False, approved_at_once=True)
    page.locator("a[href='/activate']").click()
    return activate_phone(page, j, phone_name)


# -- the back office (officers) ----------------------------------------------------------------
def officer_signs_in(j: Journey) -> Page:
    officer = admin_ui_support.make_officer(
        j.world.browser, j.services, ["officer", "admin"], j.tmp / "officer-phone"
    )
    j.phones.append(officer.phone)
    context = j.chromium.new_context(locale="th-TH")
    j.contexts.append(context)
    desk = context.new_page()
    desk.set_default_timeout(15_000)
    desk.goto(j.base + "/admin/")
    sign_in_with_password(desk, officer.person.user_id, officer.person.password)
    approve_on_phone(desk, officer.phone)
    desk.wait_for_url(re.compile(r"/admin/$"))
    heading(desk, "ภาพรวม")
    return desk


def _open_waiting_registration(j: Journey, user_id: str) -> Page:
    desk = j.desk()
    desk.goto(j.base + "/admin/registrations?q=" + user_id)
    desk.get_by_role("link", name="เปิด").click()
    expect(desk.locator("h1")).to_contain_text(user_id)
    return desk


def officer_approves(j: Journey, user_id: str) -> None:
    desk = _open_waiting_registration(j, user_id)
    expect(desk.locator("iframe.pdf")).to_be_visible()  # the uploaded assignment order
    desk.get_by_role("button", name="อนุมัติ", exact=True).click()
    expect(desk.locator(".flash")).to_contain_text("อนุมัติการลงทะเบียนแล้ว")


def officer_rejects(j: Journey, user_id: str, reason: str) -> None:
    desk = _open_waiting_registration(j, user_id)
    desk.fill("textarea[name=reason]", reason)
    desk.get_by_role("button", name="ไม่อนุมัติ", exact=True).click()
    expect(desk.locator(".flash")).to_contain_text("ไม่อนุมัติการลงทะเบียน")
