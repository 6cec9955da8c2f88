"""The demo portal (examples/portal, what `make run` starts) against a live IdP, over real HTTP
on both backends: a user with Soft Token signs in with password and push and sees who they are
and the sign-in level in words; a step-up asks the phone again (not the password); a payment
sent with CIBA and RAR is approved on the phone and shown with its receipt; sign-out. The Soft
Token certificate's expiry (`softtoken_expires_at`) is shown as a day, with a "renew soon" hint
within the renewal window."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from examples.portal import app as portal_app
from examples.portal import words
from idp.app import create_app
from idp.demo import portal_spec
from idp.domain import clients
from tests import admin_ui_support, push_support, support
from tests.backends import Backend
from tests.live import free_port, serve


@dataclass
class World:
    portal: str
    browser: httpx.Client
    person: admin_ui_support.Officer  # a user and their phone (the helper's pair)


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> Iterator[World]:
    port, portal_port = free_port(), free_port()
    base, portal = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{portal_port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    client_id = "demo-portal-" + support.new_user_id()[-6:]
    with services.db.session() as session:  # registered as idp.demo registers it
        _client, secret = clients.create(session, portal_spec(portal, client_id), "test")
    config = {"issuer": base, "client_id": client_id, "client_secret": secret, "portal_url": portal}
    user = support.create_user(services)
    support.approve_registration(services, user.user_id)
    with (
        serve(app, port),
        serve(portal_app.create_app(config), portal_port),
        httpx.Client(base_url=base, follow_redirects=False, timeout=30) as browser,
    ):
        phone = push_support.activate(browser, user, tmp_path / "phone")
        browser.cookies.clear()
        yield World(portal, browser, admin_ui_support.Officer(user, phone))


def test_sign_in_step_up_approve_a_payment_and_sign_out(world: World) -> None:
    browser, portal = world.browser, world.portal
    assert "เข้าสู่ระบบด้วย Soft Token" in browser.get(portal + "/").text
    home = admin_ui_support.sign_in(browser, world.person, portal + "/login")
    assert home.status_code == 200, home.text
    assert "นางสาวทดสอบ ระบบ" in home.text
    assert "กองคลัง (0500500000)" in home.text
    assert "อนุมัติด้วย Soft Token บนโทรศัพท์ (AAL2)" in home.text  # the acr in words
    assert "กุญแจในแอป Soft Token" in home.text  # amr swk
    assert home.text.index("<details") < home.text.index('"nonce"')  # raw claims: behind it
    found = re.search(r'"softtoken_expires_at": (\d+)', home.text)  # the claim, at userinfo
    assert found is not None
    expires = int(found.group(1))
    assert abs(expires - (time.time() + 730 * 86400)) < 3600  # the manual's two years
    assert (
        f'ใบรับรอง Soft Token หมดอายุ</dt><dd class="cert-expiry">{words.expiry_day(expires, "th")}'
        in home.text
    )
    assert "renew-soon" not in home.text  # far from the renewal window
    browser.get(portal + "/language/en")
    english = browser.get(portal + "/")
    assert "Password and approval with Soft Token on the phone (AAL2)" in english.text
    assert words.expiry_day(expires, "en") in english.text
    browser.get(portal + "/language/th")

    # step-up: the IdP asks the phone again, not the password (a wrong one would fail here)
    phone_only = replace(world.person, person=replace(world.person.person, password="not asked"))
    again = admin_ui_support.sign_in(browser, phone_only, portal + "/step-up")
    assert "ยืนยันตัวตนอีกครั้งเรียบร้อยแล้ว" in again.text

    # a payment: CIBA with gfmis_payment details, the pictures shown here, tapped on the phone
    assert browser.post(portal + "/payment").status_code == 303
    started = time.monotonic()
    waiting = browser.get(portal + "/payment")
    assert "125,000.00 บาท" in waiting.text
    shown = push_support.shown_pictures(waiting.text)
    assert len(shown) == 4
    pending = world.person.phone.pending(wait=5)
    assert pending is not None
    assert {d["label"] for d in pending["context"]["details"]} >= {"จำนวนเงิน", "ผู้รับเงิน"}
    assert world.person.phone.approve(push_support.PIN, shown)["status"] == "approved"
    time.sleep(max(0.0, 5.2 - (time.monotonic() - started)))  # CIBA's 5 s polling interval
    done = browser.get(portal + "/payment")
    assert "อนุมัติรายการแล้ว" in done.text, done.text
    assert "อนุมัติด้วย Soft Token บนโทรศัพท์ (AAL2)" in done.text
    assert re.search(r'"jws": "[\w-]+\.[\w-]+\.[\w-]+"', done.text)  # the receipt, in details

    out = browser.get(portal + "/logout")
    assert "/logout" in out.headers["location"]
    assert "เข้าสู่ระบบด้วย Soft Token" in browser.get(portal + "/").text


def test_the_certificate_expiry_asks_to_renew_within_the_window() -> None:
    """The home page rendered alone (no servers): 10 days left, then 40."""
    templates = portal_app.make_templates({"issuer": "http://idp.test"})
    soon = int(time.time()) + 9 * 86400 + 3600  # 10 days left, counting the part of a day
    user = {
        "claims": {"sub": "T1", "acr": None, "amr": ["pwd"], "auth_time": None},
        "userinfo": {"name": "x", "softtoken_expires_at": soon},
        "id_token": "",
    }
    home = templates.get_template("home.html")

    def render(locale: str) -> str:
        return home.render(
            t=words.translator(locale), locale=locale, user=user, payment=portal_app.PAYMENT
        )

    for locale, hint in (("th", "จะหมดอายุในอีก 10 วัน"), ("en", "expires in 10 days")):
        page = render(locale)
        assert hint in page
        assert words.expiry_day(soon, locale) in page
    user["userinfo"] = {"name": "x", "softtoken_expires_at": soon + 30 * 86400}
    assert "renew-soon" not in render("th")
    user["userinfo"] = {"name": "x"}  # no claim: no line at all
    assert "cert-expiry" not in render("th")
