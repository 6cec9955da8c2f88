"""The account page, signing out everywhere, the language, and cancelling Soft Token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.storage.models import Registration
from push_auth.errors import PushError
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve
from tests.logout_receiver import LogoutReceiver
from tests.smtp import Inbox, smtp_mail, smtp_server, text_of


def test_account_page_and_cancel_soft_token(backend: Backend, tmp_path: Path) -> None:
    receiver = LogoutReceiver()
    port, rp_port, smtp_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        support.make_settings(
            backend,
            tmp_path,
            issuer=base,
            mail=smtp_mail(smtp_port),
        )
    )
    services = app.state.ctx.services
    user = support.create_user(services)
    registered = f"verified-{user.user_id.lower()}@example.go.th"  # not the imported address
    support.approve_registration(services, user.user_id, email=registered)
    rp = support.create_client(services, backchannel_logout_uri=f"http://127.0.0.1:{rp_port}/bcl")
    inbox = Inbox()
    smtp = smtp_server(inbox, smtp_port)
    try:
        with (
            serve(receiver.app, rp_port),
            serve(app, port),
            httpx.Client(base_url=base, follow_redirects=False) as browser,
        ):
            phone = push_support.activate(browser, user, tmp_path / "phone")
            verifier, challenge = support.pkce()
            code = support.sign_in(browser, rp, user, challenge)["code"]
            assert support.exchange(browser, rp, code, verifier).status_code == 200
            page = browser.get("/account")
            assert page.status_code == 200
            assert user.user_id in page.text
            assert "Test RP" in page.text  # a signed-in application
            assert "softtoken reference authenticator" in page.text  # the device
            csrf = support.csrf_of(page.text)
            english = browser.post("/account/language", data={"csrf_token": csrf, "locale": "en"})
            assert english.cookies.get("lang") == "en"
            forged = browser.post("/account/cancel", data={"reason": "new_phone", "confirm": "yes"})
            assert forged.status_code == 403
            cancelled = browser.post(
                "/account/cancel",
                data={"csrf_token": csrf, "reason": "new_phone", "confirm": "yes"},
            )
            assert cancelled.status_code == 200
            assert receiver.wait()  # the relying party was told by back-channel logout
            [mail] = inbox.wait_for(1, to=registered)  # the registration's verified address
            assert "ยกเลิก" in text_of(mail)
            with pytest.raises(PushError) as refused:
                phone.status()
            assert refused.value.code == "device_revoked"
            assert browser.get("/account").status_code == 303  # signed out
            again = push_support.sign_in_to(browser, "/register", user)
            assert again.status_code == 200  # free to register again
    finally:
        smtp.stop()


def test_the_account_page_offers_the_lifecycle_next_step(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    """Issue #16: a user without Soft Token is offered the next step of the lifecycle."""
    page = push_support.sign_in_to(app_client, "/account", user)
    assert "ลงทะเบียน Soft Token</a>" in page.text  # provisioned: register
    assert 'href="/activate"' not in page.text
    support.approve_registration(services, user.user_id)
    page = app_client.get("/account")
    assert 'href="/activate"' in page.text  # approved: activate, not register
    assert 'href="/register"' not in page.text
    with services.db.session() as session:
        registration = session.scalars(
            select(Registration).where(Registration.user_id == user.user_id)
        ).one()
        registration.status = "waiting_approval"
    page = app_client.get("/account")
    assert "ดูสถานะการลงทะเบียน" in page.text  # waiting: no new registration offered
    assert 'href="/activate"' not in page.text
