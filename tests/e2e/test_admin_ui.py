"""The back office over real HTTP (no browser): push sign-in as an OIDC client of idp, roles,
CSRF, the step-up after 15 minutes, and pages that only talk to the admin API."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import select
from starlette.responses import Response

from admin_ui.app import create_app as create_admin_ui
from admin_ui.settings import AdminUISettings
from idp.app import create_app
from idp.domain import clients
from idp.storage.models import AuditEvent, Grant, User
from push_auth.errors import PushError
from softtoken_i18n.formats import format_date
from tests import admin_ui_support, support
from tests.backends import Backend
from tests.live import free_port, serve
from tests.thai_pages import assert_thai


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
    cookie = str(office.browser.cookies.get("softtoken_admin"))
    print("session cookie bytes:", len(cookie))
    assert 0 < len(cookie) < 3600  # tokens inside, still well under a browser's 4096
    dashboard = office.browser.get("/admin/")
    assert dashboard.status_code == 200
    assert "<svg" in dashboard.text
    today = datetime.now(UTC).date()  # the chart's last tick, in the Buddhist era
    assert f'class="tick">{format_date(today, "th")}</text>' in dashboard.text
    assert dashboard.headers["content-security-policy"].count("script-src 'none'") == 1


def _registration_with_pdf(services: support.Services) -> str:
    from tests.e2e.test_admin_manage import PDF, _registration

    return _registration(services, support.create_user(services).user_id, PDF)


def test_every_screen_renders_in_both_languages(office: Office) -> None:
    with office.services.db.session() as session:
        user = session.get(User, office.officer.person.user_id)
        assert user is not None
        user.roles = ["officer", "admin", "auditor"]
    registration_id = _registration_with_pdf(office.services)
    rp = support.create_client(office.services)
    admin_ui_support.sign_in(office.browser, office.officer)
    pages = [
        "/admin/",
        "/admin/registrations",
        "/admin/registrations?status=approved&q=T0",
        f"/admin/registrations/{registration_id}",
        "/admin/service-requests",
        "/admin/service-requests/new",
        "/admin/users",
        f"/admin/users?q={office.officer.person.user_id}",
        f"/admin/users/{office.officer.person.user_id}",
        "/admin/users/import",
        "/admin/clients",
        "/admin/clients/new",
        f"/admin/clients/{rp.client_id}",
        "/admin/audit",
        "/admin/audit?outcome=success&action=admin_api.get",
        "/admin/officers",
        "/admin/keys",
    ]
    for locale in ("en", "th"):
        office.browser.get(f"/admin/language/{locale}")
        for path in pages:
            page = office.browser.get(path)
            assert page.status_code == 200, (path, page.text[:3000])
            assert f'<html lang="{locale}">' in page.text
            assert "Traceback" not in page.text
            unknown = re.findall(
                r">\s*((?:nav|list|field|status|sr|users|clients)\.[a-z_.]+)", page.text
            )
            if "/audit" not in path:  # the audit log shows event names like users.import
                assert not unknown, (path, unknown)
            if locale == "th":
                assert_thai(page.text, path)
    pdf = office.browser.get(f"/admin/registrations/{registration_id}/assignment-order.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "frame-ancestors 'self'" in pdf.headers["content-security-policy"]
    csv = office.browser.get("/admin/audit.csv?action=admin_api.get")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "admin_api.get" in csv.text
    missing = office.browser.get("/admin/users/T99999999999999")
    assert missing.status_code == 404
    assert "no such user" in missing.text or "ไม่พบผู้ใช้" in missing.text


def test_an_auditor_sees_the_audit_log_and_nothing_else(office: Office) -> None:
    with office.services.db.session() as session:
        user = session.get(User, office.officer.person.user_id)
        assert user is not None
        user.roles = ["auditor"]
    dashboard = admin_ui_support.sign_in(office.browser, office.officer)
    assert dashboard.status_code == 200
    assert "/admin/registrations" not in dashboard.text
    assert office.browser.get("/admin/audit").status_code == 200
    refused = office.browser.get("/admin/users")
    assert refused.status_code == 403


def test_forms_need_the_session_csrf_token(office: Office) -> None:
    target = support.create_user(office.services)
    admin_ui_support.sign_in(office.browser, office.officer)
    forged = office.browser.post(
        f"/admin/users/{target.user_id}/disable", data={"csrf_token": "forged"}
    )
    assert forged.status_code == 400
    with office.services.db.read() as session:
        user = session.get(User, target.user_id)
        assert user is not None
        assert not user.disabled
    page = office.browser.get(f"/admin/users/{target.user_id}")
    done = office.browser.post(
        f"/admin/users/{target.user_id}/disable",
        data={"csrf_token": support.csrf_of(page.text), "return_to": "/admin/users"},
    )
    assert done.status_code == 303
    with office.services.db.read() as session:
        user = session.get(User, target.user_id)
        assert user is not None
        assert user.disabled


def test_a_change_after_15_minutes_asks_for_the_phone_again(office: Office) -> None:
    """The API's RFC 9470 answer becomes a new push sign-in that comes back to the form."""
    target = support.create_user(office.services)
    admin_ui_support.sign_in(office.browser, office.officer)
    page = office.browser.get(f"/admin/users/{target.user_id}")
    csrf = support.csrf_of(page.text)
    with office.services.db.session() as session:  # the sign-in was 20 minutes ago
        for grant in session.scalars(
            select(Grant).where(Grant.user_id == office.officer.person.user_id)
        ):
            grant.auth_time -= 1200
    expire_access_token(office)
    asked = office.browser.post(
        f"/admin/users/{target.user_id}/disable",
        data={"csrf_token": csrf, "return_to": f"/admin/users/{target.user_id}"},
    )
    assert asked.status_code == 303
    assert asked.headers["location"].startswith("/admin/login?")
    assert "max_age=900" in asked.headers["location"]
    with office.services.db.read() as session:
        user = session.get(User, target.user_id)
        assert user is not None
        assert not user.disabled
    back = admin_ui_support.sign_in(office.browser, office.officer, asked.headers["location"])
    assert back.status_code == 200
    assert target.user_id in back.text  # the form's page again, with a note to repeat it


def expire_access_token(office: Office) -> None:
    """Make the back office renew its access token (by the refresh token) on the next page."""
    from admin_ui.session import COOKIE, CookieSessions, decode_key
    from idp.admin_ui_wiring import admin_ui_settings

    ui = admin_ui_settings(office.services)
    sessions = CookieSessions(decode_key(ui.session_key), 3600, "/admin", False)

    carrier = SimpleNamespace(cookies={COOKIE: office.browser.cookies.get(COOKIE, path="/admin")})
    data = sessions.read(carrier)  # type: ignore[arg-type]
    data["expires_at"] = 0
    response = Response()
    sessions.write(response, data)
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    domain = next(c.domain for c in office.browser.cookies.jar if c.name == COOKIE)
    office.browser.cookies.set(COOKIE, value, domain=domain, path="/admin")


def test_the_back_office_deployed_alone_on_another_host(backend: Backend, tmp_path: Path) -> None:
    """Its own settings, its own server, real HTTP to the IdP: nothing shared but the client."""
    idp_port, ui_port = free_port(), free_port()
    issuer, ui_base = f"http://127.0.0.1:{idp_port}", f"http://localhost:{ui_port}"
    idp = create_app(
        support.make_settings(backend, tmp_path, issuer=issuer, admin_ui={"enabled": False})
    )
    services = idp.state.ctx.services
    with services.db.session() as session:
        _client, secret = clients.create(
            session,
            clients.ClientSpec(
                client_id="backoffice-elsewhere",
                name="Back office elsewhere",
                redirect_uris=[ui_base + "/callback"],
                post_logout_redirect_uris=(ui_base + "/signed-out",),
                scope="openid profile admin",
                first_party=True,
            ),
            "test",
        )
    assert secret
    alone = create_admin_ui(
        AdminUISettings(
            issuer=issuer,
            client_id="backoffice-elsewhere",
            client_secret=secret,
            public_url=ui_base,
            session_key=base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
        )
    )
    with serve(idp, idp_port), serve(alone, ui_port), httpx.Client(base_url=issuer) as browser:
        assert browser.get("/admin/").status_code == 404  # not mounted on the IdP
        officer = admin_ui_support.make_officer(browser, services, ["officer"], tmp_path / "p")
        page = admin_ui_support.sign_in(browser, officer, ui_base + "/users")
        assert page.status_code == 200, page.text[:2000]
        assert str(page.url) == ui_base + "/users"
        assert 'href="/registrations"' in page.text  # its own paths, at the root
        signed_out = browser.post(
            ui_base + "/logout", data={"csrf_token": support.csrf_of(page.text)}
        )
        end_session = signed_out.headers["location"]
        assert end_session.startswith(issuer + "/logout?")
        assert "id_token_hint=" in end_session
        back = browser.get(end_session)
        assert back.headers["location"] == ui_base + "/signed-out"


def test_an_officer_revokes_a_device_and_an_admin_rotates_the_keys(
    office: Office, tmp_path: Path
) -> None:
    holder = admin_ui_support.make_officer(office.browser, office.services, [], tmp_path / "h")
    with office.services.db.session() as session:
        user = session.get(User, office.officer.person.user_id)
        assert user is not None
        user.roles = ["officer", "admin"]
    admin_ui_support.sign_in(office.browser, office.officer)
    path = f"/admin/users/{holder.person.user_id}"
    page = office.browser.get(path)
    signed_out = office.browser.post(
        path + "/sign-out", data={"csrf_token": support.csrf_of(page.text), "return_to": path}
    )
    assert signed_out.status_code == 303
    assert "ออกจากระบบทุกที่แล้ว" in office.browser.get(path).text
    page = office.browser.get(path)
    assert "/device/revoke" in page.text
    done = office.browser.post(
        path + "/device/revoke",
        data={"csrf_token": support.csrf_of(page.text), "return_to": path, "reason": "lost"},
    )
    assert done.status_code == 303
    after = office.browser.get(path)
    assert "/device/revoke" not in after.text  # nothing active to revoke any more
    with pytest.raises(PushError, match="device_revoked"):
        holder.phone.status()  # the phone is told at its next call

    keys_page = office.browser.get("/admin/keys")
    before = set(re.findall(r"<code>([^<]+)</code>", keys_page.text))
    rotated = office.browser.post(
        "/admin/keys/rotate",
        data={"csrf_token": support.csrf_of(keys_page.text), "return_to": "/admin/keys"},
    )
    assert rotated.status_code == 303
    now = set(re.findall(r"<code>([^<]+)</code>", office.browser.get("/admin/keys").text))
    assert len(now - before) == 2  # a new next key per algorithm


def test_the_audit_log_names_the_officers_browser_not_the_back_office(
    backend: Backend, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = support.make_settings(
        backend, tmp_path, issuer=base, server={"trusted_proxies": ["127.0.0.1"]}
    )
    app = create_app(settings)
    services = app.state.ctx.services
    behind_proxy = {"User-Agent": "OfficerBrowser/1.0", "X-Forwarded-For": "203.0.113.9"}
    with serve(app, port), httpx.Client(base_url=base, headers=behind_proxy) as browser:
        officer = admin_ui_support.make_officer(browser, services, ["officer"], tmp_path / "o")
        admin_ui_support.sign_in(browser, officer, "/admin/users")
    with services.db.read() as session:
        calls = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "admin_api.get",
                AuditEvent.actor == officer.person.user_id,
            )
        ).all()
    assert calls
    assert {(e.ip, e.user_agent) for e in calls} == {("203.0.113.9", "OfficerBrowser/1.0")}
