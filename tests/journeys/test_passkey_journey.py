"""Passkeys in real Chromium (issue #13, item 4), on a localhost issuer (WebAuthn's RP ID is a
domain) with the browser's virtual platform authenticator: an active user adds a passkey on
the account page after approving on the phone, signs out, signs in at a relying party that
requires the phishing-resistant level with the password and the passkey, renames and
removes it (each change emailed); without a passkey, a push approval cannot satisfy that
relying party."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, expect

from idp.domain.acr import ACR_PHISHING_RESISTANT
from tests import support
from tests.backends import Backend
from tests.journeys.steps import (
    approve_on_phone,
    back_at_rp,
    become_active,
    desktop,
    heading,
    imported_user,
    journey,
    mails,
    relying_party,
    rp_exchanges,
    sign_in_with_password,
    start_at_rp,
)
from tests.virtual_authenticator import platform_authenticator

CHANGED = "พาสคีย์ของท่านเปลี่ยนแปลง"


def sign_out(page: Page, base: str) -> None:
    page.goto(base + "/logout")
    page.get_by_role("button", name="ออกจากระบบ").click()


def test_a_passkey_from_the_account_page_to_a_phishing_resistant_sign_in(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium, host="localhost") as j:
        who = imported_user(j, assignment_order_on_file=True)
        page = desktop(j)
        authenticator = platform_authenticator(page)
        phone = become_active(j, page, who)

        # Add a passkey: the account page asks for a push approval first.
        page.goto(j.base + "/account")
        page.get_by_role("link", name="เพิ่มพาสคีย์").click()
        approve_on_phone(page, phone)
        heading(page, "เพิ่มพาสคีย์")
        page.fill("#passkey-name", "คอมพิวเตอร์ที่ทำงาน")
        page.get_by_role("button", name="สร้างพาสคีย์").click()
        heading(page, "บัญชีของฉัน")
        expect(page.get_by_role("status")).to_have_text("เพิ่มพาสคีย์แล้ว")
        expect(page.locator("ul.passkeys li strong")).to_have_text("คอมพิวเตอร์ที่ทำงาน")
        assert len(authenticator.credentials()) == 1
        added = mails(j, who.email, CHANGED)[0]
        assert "เพิ่มพาสคีย์" in added
        assert "คอมพิวเตอร์ที่ทำงาน" in added
        sign_out(page, j.base)

        # A relying party that requires the phishing-resistant level: password + passkey.
        strict = relying_party(j, min_acr=ACR_PHISHING_RESISTANT)
        request = start_at_rp(page, j, strict)
        sign_in_with_password(page, who.user_id, who.password)
        heading(page, "เข้าสู่ระบบด้วยพาสคีย์")  # no choice offered: only a passkey reaches it
        page.get_by_role("button", name="ใช้พาสคีย์").click()
        tokens = rp_exchanges(j, request, back_at_rp(page, request))
        assert tokens.claims["sub"] == who.user_id
        assert tokens.claims["acr"] == ACR_PHISHING_RESISTANT
        assert {"pwd", "user", "mfa"} <= set(tokens.claims["amr"])
        assert {"hwk", "swk"} & set(tokens.claims["amr"])

        # Rename it, then remove it, on the account page (each change emailed).
        page.goto(j.base + "/account")
        page.get_by_label("ชื่อใหม่").fill("เครื่องเก่า")
        page.get_by_role("button", name="เปลี่ยนชื่อ").click()
        expect(page.get_by_role("status")).to_have_text("เปลี่ยนชื่อพาสคีย์แล้ว")
        expect(page.locator("ul.passkeys li strong")).to_have_text("เครื่องเก่า")
        page.get_by_role("button", name="ลบ เครื่องเก่า").click()
        expect(page.get_by_role("status")).to_have_text("ลบพาสคีย์แล้ว")
        expect(page.locator("ul.passkeys li strong")).to_have_count(0)
        texts = mails(j, who.email, CHANGED, count=3)
        assert any("เปลี่ยนชื่อพาสคีย์" in t and "เครื่องเก่า" in t for t in texts)
        assert any("ลบพาสคีย์" in t for t in texts)

        # Without a passkey, push alone cannot satisfy that relying party.
        sign_out(page, j.base)
        request = start_at_rp(page, j, strict)
        sign_in_with_password(page, who.user_id, who.password)
        approve_on_phone(page, phone)
        heading(page, "ระบบงานนี้ต้องเข้าสู่ระบบด้วยพาสคีย์")
        page.goto(  # signed in at the push level: prompt=none goes back with the error
            j.base + "/authorize?" + _query(strict, prompt="none")
        )
        page.wait_for_url(strict.redirect_uri + "?*")
        answer = support.query_of(page.url)
        assert answer["error"] == "interaction_required"


def _query(rp: support.RelyingParty, **extra: str) -> str:
    return urlencode(support.authorize_params(rp, support.pkce()[1], **extra))
