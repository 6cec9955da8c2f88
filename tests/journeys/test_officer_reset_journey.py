"""Manual chapter 3 after an officer's password reset: the officer presses "email a new password"
on the user's page in the back office (and never sees it); the user signs in at a relying party
with the emailed one-time password and the pictures on the phone, must change it, and signs in
again with the chosen one."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.backends import Backend
from tests.journeys.steps import (
    approve_on_phone,
    become_active,
    change_password,
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


def test_password_reset_by_an_officer_then_changed_by_the_user(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j, assignment_order_on_file=True)
        phone = become_active(j, desktop(j), who)
        rp = relying_party(j, name="ระบบรับและนำส่งเงิน")

        desk = j.desk()
        desk.goto(f"{j.base}/admin/users/{who.user_id}")
        expect(desk.locator("h1")).to_contain_text(who.user_id)
        desk.get_by_role("button", name="ส่งรหัสผ่านใหม่ทางอีเมล").click()
        expect(desk.locator(".flash")).to_contain_text("ส่งรหัสผ่านใหม่ไปยังอีเมลที่ลงทะเบียนแล้ว")
        expect(desk.get_by_text("ต้องเปลี่ยนรหัสผ่าน")).to_be_visible()
        emailed_text = mails(j, who.email, "รหัสผ่านใหม่ New GFMIS Thai")[-1]
        emailed = password_in(emailed_text)
        assert emailed not in desk.content()  # the officer never sees it
        no_mail(j, f"{who.user_id.lower()}@example.go.th")

        page = desktop(j)
        request = start_at_rp(page, j, rp)
        sign_in_with_password(page, who.user_id, who.password)
        refused_sign_in(page)
        sign_in_with_password(page, who.user_id, emailed)
        approve_on_phone(page, phone)
        chosen = new_password()
        change_password(page, emailed, chosen)
        sign_in_with_password(page, who.user_id, emailed)
        refused_sign_in(page)
        sign_in_with_password(page, who.user_id, chosen)
        approve_on_phone(page, phone)
        signed_in_with_push(j, page, request, who.user_id)
        heading(page, "ระบบงานปลายทาง")
