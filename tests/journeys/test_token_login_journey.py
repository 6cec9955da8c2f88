"""Manual chapter 0 as one user's life: a holder of a legacy GFMIS token key opens "Login by
Token" behind nginx, which verifies the key's TLS client certificate (the browser presents it);
the initial Soft Token password is shown once; the holder signs in with it, must choose a
password, signs in again with the chosen one, registers Soft Token, activates the phone and
signs in at a relying party with the pictures on the phone."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from tests.backends import Backend
from tests.journeys.steps import (
    activate_phone,
    change_password,
    desktop,
    imported_user,
    new_password,
    refused_sign_in,
    register,
    relying_party,
    sign_in_at_rp,
    sign_in_with_password,
)
from tests.journeys.token_key import initial_password, token_login


def test_token_key_holder_gets_an_initial_password_and_registers(
    backend: Backend, tmp_path: Path, chromium: Browser, nginx_binary: str
) -> None:
    with token_login(backend, tmp_path, chromium, nginx_binary) as t:
        j = t.j
        who = imported_user(
            j, assignment_order_on_file=True, legacy_cert_fingerprint=t.pki.fingerprint
        )
        rp = relying_party(j, name="ระบบ New GFMIS Thai")
        page = t.token_holder_browser()
        initial = initial_password(t, page, who)

        page.get_by_role("link", name="ลงทะเบียน Soft Token").click()
        sign_in_with_password(page, who.user_id, initial)
        chosen = new_password()
        change_password(page, initial, chosen)
        sign_in_with_password(page, who.user_id, initial)  # it worked once
        refused_sign_in(page)
        sign_in_with_password(page, who.user_id, chosen)  # and the chosen one works from now on
        who = who.with_password(chosen)
        register(page, j, who, upload=False, approved_at_once=True)
        page.locator("a[href='/activate']").click()
        phone = activate_phone(page, j, "phone")

        sign_in_at_rp(j, desktop(j), rp, who, phone)
