"""Manual chapter 4 as one user's life: an active user (registered and activated) forgets the
password at a relying party's sign-in, asks for a new one with the user ID, the national ID and
the registered email, types the code from the email, signs in with the emailed password (and
the pictures on the phone), must change it at once, and signs in again with the chosen one."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.backends import Backend
from tests.journeys.steps import (
    approve_on_phone,
    become_active,
    change_password,
    code_in,
    desktop,
    heading,
    imported_user,
    journey,
    mails,
    new_password,
    no_mail,
    password_in,
    refused_sign_in,
    relying_party,
    sign_in_with_password,
    signed_in_with_push,
    start_at_rp,
)


def test_forgotten_password_is_reset_by_email_then_changed(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j, assignment_order_on_file=True)
        phone = become_active(j, desktop(j), who)
        record_email = f"{who.user_id.lower()}@example.go.th"
        rp = relying_party(j, name="ระบบจ่ายตรง")

        page = desktop(j)  # another day: the password is gone from memory
        start_at_rp(page, j, rp)
        heading(page, "เข้าสู่ระบบ")
        page.get_by_role("link", name="ลืมรหัสผ่าน").click()
        heading(page, "ลืมรหัสผ่าน")
        page.fill("#user_id", who.user_id)
        page.fill("#national_id", "1-1017-00203-45-0")  # typed as printed on the card
        page.fill("#email", who.email.upper())
        page.get_by_role("button", name="ถัดไป").click()
        heading(page, "ลืมรหัสผ่าน")
        expect(
            page.get_by_text("หากข้อมูลถูกต้อง ระบบได้ส่งรหัส OTP ไปยังอีเมลที่ลงทะเบียนไว้แล้ว")
        ).to_be_visible()
        otp_mail = mails(j, who.email, "รหัส OTP ขอรหัสผ่านใหม่")[-1]
        assert who.user_id in otp_mail
        page.fill("#otp", code_in(otp_mail))
        page.get_by_role("button", name="ยืนยัน", exact=True).click()
        heading(page, "ระบบได้ส่งรหัสผ่านใหม่ไปยังอีเมลของท่านแล้ว")
        expect(page.get_by_text("ระบบจะให้ท่านเปลี่ยนรหัสผ่านทันที")).to_be_visible()
        emailed = password_in(mails(j, who.email, "รหัสผ่านใหม่ New GFMIS Thai")[-1])
        assert "ถูกตั้งใหม่เมื่อ" in mails(j, who.email, "แจ้งการตั้งรหัสผ่านใหม่")[-1]
        no_mail(j, record_email)  # everything went to the registered (verified) email

        request = start_at_rp(page, j, rp)  # back to the relying party
        sign_in_with_password(page, who.user_id, who.password)  # the forgotten one is gone
        refused_sign_in(page)
        sign_in_with_password(page, who.user_id, emailed)
        approve_on_phone(page, phone)
        chosen = new_password()
        change_password(page, emailed, chosen)
        sign_in_with_password(page, who.user_id, emailed)  # it worked once, for the change
        refused_sign_in(page)
        sign_in_with_password(page, who.user_id, chosen)
        approve_on_phone(page, phone)
        signed_in_with_push(j, page, request, who.user_id)
