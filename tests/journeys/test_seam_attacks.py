"""Attacks on the seams between the manual's chapters, in the browser and from the phone:

- a phone pairs only after an approved registration: /activate at steps 1 to 4 shows no QR;
- /activate while a phone is active shows no QR either;
- a national ID registered by one active user cannot start another user's registration;
- a Login-by-Token initial password works for one sign-in only, also after it was changed;
- a phone revoked by an officer cannot approve, and /activate does not call it a success."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from idp.domain.acr import ACR_PUSH
from push_auth.authenticator.state import AuthenticatorError
from push_auth.errors import PushError
from tests.backends import Backend
from tests.journeys.steps import (
    PIN,
    SOMCHAI,
    Journey,
    become_active,
    change_password,
    confirm_registration,
    desktop,
    heading,
    imported_user,
    journey,
    new_password,
    phone_browser,
    prove_identity_on_phone,
    refused_sign_in,
    register_identity,
    relying_party,
    sign_in_at_rp,
    sign_in_with_password,
    start_at_rp,
    step_is,
    verify_email,
)
from tests.journeys.token_key import initial_password, token_login
from tests.push_support import shown_pictures

ACTIVATION_QR = "QR Code สำหรับลงทะเบียน"


def _no_activation(page: Page, j: Journey, register_link: bool = True) -> None:
    """/activate refuses: 403, no QR code (nor its PNG), and the way to registration."""
    response = page.goto(j.base + "/activate")
    assert response is not None
    assert response.status == 403, f"/activate answered {response.status}, not 403"
    heading(page, "ลงทะเบียน Soft Token")
    expect(page.get_by_alt_text(ACTIVATION_QR)).to_have_count(0)
    expect(page.locator("[role=alert]")).to_be_visible()
    if register_link:
        expect(page.locator("main a[href='/register']")).to_be_visible()
    assert page.request.get(j.base + "/activate/qr.png").status == 404


def test_no_activation_qr_before_the_registration_is_approved(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j)  # no assignment order on file: an officer must approve
        page = desktop(j)
        page.goto(j.base + "/register")
        sign_in_with_password(page, who.user_id, who.password)
        register_identity(page, who, upload=True)
        step_is(page, 2, "พิสูจน์ตัวตนผ่านแอปพลิเคชันเป๋าตัง")
        _no_activation(page, j)  # step 1 done

        page.goto(j.base + "/register")
        prove_identity_on_phone(page, phone_browser(j), who)
        _no_activation(page, j)  # step 2 done

        page.goto(j.base + "/register")
        verify_email(page, j, who)
        confirm_registration(page, approved_at_once=False)
        _no_activation(page, j, register_link=False)  # waiting for the officer
        assert j.world.context.push.devices.active_for(who.user_id) is None


def test_no_activation_qr_while_a_phone_is_active(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j, assignment_order_on_file=True)
        page = desktop(j)
        become_active(j, page, who)
        page.goto(j.base + "/activate")
        heading(page, "ลงทะเบียน Soft Token สำเร็จ")
        expect(page.get_by_alt_text(ACTIVATION_QR)).to_have_count(0)
        assert page.request.get(j.base + "/activate/qr.png").status == 404


def test_a_national_id_of_an_active_user_cannot_start_another_registration(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        holder = imported_user(j, assignment_order_on_file=True)
        become_active(j, desktop(j), holder)
        other = imported_user(j, SOMCHAI, assignment_order_on_file=True)
        page = desktop(j)
        page.goto(j.base + "/register")
        sign_in_with_password(page, other.user_id, other.password)
        heading(page, "ลงทะเบียน Soft Token")
        page.fill("#national_id", holder.pid)  # someone else's national ID
        page.check("input[name=consent][value=yes]")
        page.get_by_role("button", name="ถัดไป").click()
        expect(page.locator("#form-error")).to_contain_text("รหัสผู้ใช้อื่น")
        expect(page.locator("#national_id")).to_have_attribute("aria-invalid", "true")
        step_is(page, 1, "การลงทะเบียน")  # still at step 1


def test_an_initial_password_from_the_token_key_works_once(
    backend: Backend, tmp_path: Path, chromium: Browser, nginx_binary: str
) -> None:
    with token_login(backend, tmp_path, chromium, nginx_binary) as t:
        j = t.j
        who = imported_user(j, legacy_cert_fingerprint=t.pki.fingerprint)
        rp = relying_party(j)
        page = t.token_holder_browser()
        initial = initial_password(t, page, who)
        page.get_by_role("link", name="ลงทะเบียน Soft Token").click()
        sign_in_with_password(page, who.user_id, initial)
        chosen = new_password()
        change_password(page, initial, chosen)

        elsewhere = desktop(j)  # someone who saw the initial password over the shoulder
        start_at_rp(elsewhere, j, rp)
        sign_in_with_password(elsewhere, who.user_id, initial)
        refused_sign_in(elsewhere)
        sign_in_with_password(page, who.user_id, chosen)  # the holder goes on
        heading(page, "ลงทะเบียน Soft Token")


def test_a_phone_revoked_by_an_officer_cannot_approve(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j, assignment_order_on_file=True)
        phone = become_active(j, desktop(j), who)
        rp = relying_party(j, min_acr=ACR_PUSH)
        sign_in_at_rp(j, desktop(j), rp, who, phone)  # it works before

        page = desktop(j)
        start_at_rp(page, j, rp)
        sign_in_with_password(page, who.user_id, who.password)
        heading(page, "อนุมัติบนโทรศัพท์มือถือ")
        shown = shown_pictures(page.content())
        login_url = page.url

        desk = j.desk()  # the phone was stolen: the user calls the department
        desk.goto(f"{j.base}/admin/users/{who.user_id}")
        desk.fill("input[name=reason]", "ผู้ใช้แจ้งโทรศัพท์ถูกขโมย")
        desk.get_by_role("button", name="ยกเลิกอุปกรณ์นี้").click()
        expect(desk.locator(".flash")).to_contain_text("ยกเลิกอุปกรณ์แล้ว")

        with pytest.raises((PushError, AuthenticatorError)):
            phone.approve(PIN, shown)  # the thief taps the right pictures
        page.goto(login_url)
        assert not page.url.startswith(rp.redirect_uri), "signed in with a revoked phone"

        page = desktop(j)
        page.goto(j.base + "/activate")
        sign_in_with_password(page, who.user_id, who.password)
        expect(page.locator("h1")).not_to_have_text("ลงทะเบียน Soft Token สำเร็จ")
        heading(page, "ลงทะเบียน Soft Token")
        expect(page.get_by_alt_text(ACTIVATION_QR)).to_have_count(0)  # register again first
        expect(page.locator("main a[href='/register']")).to_be_visible()
