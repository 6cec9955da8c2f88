"""Login by Token (manual chapter 0) for the journeys: nginx on loopback verifies the legacy
GFMIS token key's TLS client certificate, which the browser presents (the nginx and PKI helpers
of tests/e2e/test_token_login.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.backends import Backend
from tests.e2e.test_token_login import PROXY_SOURCE, Pki, make_pki, nginx
from tests.journeys.steps import Citizen, Journey, desktop, heading, journey, no_mail
from tests.live import free_port

SETTINGS = {"server": {"trusted_proxies": [PROXY_SOURCE]}, "token_login": {"enabled": True}}


@dataclass
class TokenLogin:
    j: Journey
    proxy: str  # https://127.0.0.1:…, nginx in front of the IdP
    pki: Pki

    def token_holder_browser(self) -> Page:
        """A desktop whose browser presents the token key's certificate to nginx."""
        key = {
            "origin": self.proxy,
            "certPath": str(self.pki.client_cert),
            "keyPath": str(self.pki.client_key),
        }
        return desktop(self.j, client_certificates=[key], ignore_https_errors=True)


@contextmanager
def token_login(
    backend: Backend, tmp_path: Path, chromium: Browser, nginx_path: str
) -> Iterator[TokenLogin]:
    folder = tmp_path / "pki"
    folder.mkdir()
    pki = make_pki(folder)
    port = free_port()
    with (
        journey(backend, tmp_path, chromium, port=port, **SETTINGS) as j,
        nginx(nginx_path, folder, pki, port) as proxy,
    ):
        yield TokenLogin(j, proxy, pki)


def initial_password(t: TokenLogin, page: Page, who: Citizen) -> str:
    """The token page names the holder; the initial password is shown once, never emailed."""
    page.goto(t.proxy + "/login/token")
    heading(page, "รหัสผ่านเริ่มต้นการใช้งาน Soft Token")
    expect(page.get_by_text("GFMIS Token Key ของท่านระบุว่าท่านคือ:")).to_contain_text(who.user_id)
    page.get_by_role("button", name="ขอรหัสผ่านเริ่มต้นการใช้งาน Soft Token").click()
    expect(page.get_by_text("จะแสดงเพียงครั้งเดียวและไม่ส่งทางอีเมล")).to_be_visible()
    expect(page.locator("#user-id")).to_have_text(who.user_id)
    password = page.locator("#initial-password").inner_text().strip()
    assert len(password) >= 12
    no_mail(t.j, who.email)
    return password
