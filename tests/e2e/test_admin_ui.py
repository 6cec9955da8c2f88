"""The back office over real HTTP (no browser): push sign-in as an OIDC client of idp, roles,
CSRF, the step-up after 15 minutes, and pages that only talk to the admin API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from idp.web.app import create_app
from tests import admin_ui_support, support
from tests.backends import Backend
from tests.live import free_port, serve


@dataclass
class Office:
    base: str
    services: support.Services
    browser: httpx.Client
    officer: admin_ui_support.Officer


@pytest.fixture
def office(backend: Backend, tmp_path: Path) -> Iterator[Office]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        officer = admin_ui_support.make_officer(browser, services, ["officer"], tmp_path / "phone")
        yield Office(base, services, browser, officer)


def test_sign_in_with_push_lands_on_the_dashboard(office: Office) -> None:
    first = office.browser.get("/admin/users?q=T0")
    assert first.status_code == 303
    assert first.headers["location"].startswith("/admin/login?next=")
    page = admin_ui_support.sign_in(office.browser, office.officer, "/admin/users?q=T0")
    assert page.status_code == 200, page.text[:2000]
    assert "ผู้ใช้งาน" in page.text
    assert str(office.browser.cookies.get("softtoken_admin"))
    dashboard = office.browser.get("/admin/")
    assert dashboard.status_code == 200
    assert "<svg" in dashboard.text
    assert dashboard.headers["content-security-policy"].count("script-src 'none'") == 1
