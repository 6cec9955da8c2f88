"""Manual chapter 0 as one user's life: a holder of a legacy GFMIS token key opens "Login by
Token" behind nginx, which verifies the key's TLS client certificate (the browser presents it);
the initial Soft Token password is shown once; the holder signs in with it, must choose a
password, signs in again with the chosen one, registers Soft Token, activates the phone and
signs in at a relying party with the pictures on the phone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.backends import Backend
from tests.e2e.test_token_login import PROXY_SOURCE, make_pki, nginx
from tests.journeys.steps import (
    activate_phone,
    change_password,
    desktop,
    heading,
    imported_user,
    journey,
    new_password,
    no_mail,
    refused_sign_in,
    register,
    relying_party,
    sign_in_at_rp,
    sign_in_with_password,
)
from tests.live import free_port


@pytest.fixture(scope="module")
def nginx_path() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (CI installs the Debian package in .ci/run)")
        pytest.skip("nginx is not installed: apt-get install nginx-light")
    return found


def test_token_key_holder_gets_an_initial_password_and_registers(
    backend: Backend, tmp_path: Path, chromium: Browser, nginx_path: str
) -> None:
    pki_folder = tmp_path / "pki"
    pki_folder.mkdir()
    pki = make_pki(pki_folder)
    port = free_port()
    settings = {"server": {"trusted_proxies": [PROXY_SOURCE]}, "token_login": {"enabled": True}}
    with (
        journey(backend, tmp_path, chromium, port=port, **settings) as j,
        nginx(nginx_path, pki_folder, pki, port) as proxy,
    ):
        who = imported_user(
            j, assignment_order_on_file=True, legacy_cert_fingerprint=pki.fingerprint
        )
        rp = relying_party(j, name="ระบบ New GFMIS Thai")
        token_key = {
            "origin": proxy,
            "certPath": str(pki.client_cert),
            "keyPath": str(pki.client_key),
        }
        page = desktop(j, client_certificates=[token_key], ignore_https_errors=True)

        page.goto(proxy + "/login/token")
        heading(page, "รหัสผ่านเริ่มต้นการใช้งาน Soft Token")
        expect(page.get_by_text("GFMIS Token Key ของท่านระบุว่าท่านคือ:")).to_contain_text(who.user_id)
        page.get_by_role("button", name="ขอรหัสผ่านเริ่มต้นการใช้งาน Soft Token").click()
        expect(page.get_by_text("จะแสดงเพียงครั้งเดียวและไม่ส่งทางอีเมล")).to_be_visible()
        expect(page.locator("#user-id")).to_have_text(who.user_id)
        initial = page.locator("#initial-password").inner_text().strip()
        assert len(initial) >= 12
        no_mail(j, who.email)

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
