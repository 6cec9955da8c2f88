"""Sync core, async edge (issue #12 item 3): no page opens a database session on the event loop.
Every chapter's pages are walked over real HTTP with the database watched — activating the app,
signing in with the password and the push, consent, the code, userinfo, the account page, the
registration wizard, a new email's link, forgot password, readiness and JWKS — and a session
opened on a thread that runs an event loop, from the pages' code, fails the test."""

from __future__ import annotations

import asyncio
import secrets
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from idp.app import create_app
from idp.storage.db import Database
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve
from tests.thai_pages import assert_thai

EDGE = ("edge.py", "access_log.py", "control_chars.py")  # in front of every request, APIs too


def _on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _pages_calling() -> list[str]:
    return [
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_stack()
        if "/idp/web/" in frame.filename and not frame.filename.endswith(EDGE)
    ]


def _watch(monkeypatch: pytest.MonkeyPatch, db: Database, found: list[str]) -> None:
    for name in ("session", "read"):
        opened: Callable[[], Any] = getattr(db, name)

        def watched(opened: Callable[[], Any] = opened) -> Any:
            if _on_the_loop() and (pages := _pages_calling()):
                found.append(" <- ".join(reversed(pages)))
            return opened()

        monkeypatch.setattr(db, name, watched)


def _allow(browser: httpx.Client, consent: httpx.Response, redirect_uri: str) -> str:
    txn = consent.text.split('action="/consent/', 1)[1].split('"', 1)[0]
    allowed = browser.post(
        f"/consent/{txn}", data={"decision": "allow", "csrf_token": support.csrf_of(consent.text)}
    )
    return support.follow_to_client(browser, allowed, redirect_uri)


def test_no_page_opens_a_database_session_on_the_event_loop(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = support.make_settings(
        backend, tmp_path, issuer=base, tokens={"key_refresh_seconds": 1}
    )  # JWKS finds the key snapshot stale
    app = create_app(settings)
    services = app.state.ctx.services
    holder, newcomer = support.create_user(services), support.create_user(services)
    support.approve_registration(services, holder.user_id)
    first_party = support.create_client(services)
    third_party = support.create_client(services, first_party=False)
    found: list[str] = []
    _watch(monkeypatch, services.db, found)
    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        phone = push_support.activate(browser, holder, tmp_path / "phone")
        browser.cookies.clear()
        verifier, challenge = support.pkce()
        login_url, page = push_support.push_page(browser, first_party, holder, challenge)
        assert_thai(page.text, "the push page")
        phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
        assert browser.get(login_url + "/push").json() == {"status": "approved"}
        code = push_support.finish_push(browser, login_url, page, first_party.redirect_uri)
        tokens = support.exchange(browser, first_party, code["code"], verifier).json()
        bearer = {"Authorization": "Bearer " + tokens["access_token"]}
        assert browser.get("/userinfo", headers=bearer).status_code == 200
        account = browser.get("/account")
        assert account.status_code == 200
        assert_thai(account.text, "the account page")
        language = {"locale": "en", "csrf_token": support.csrf_of(account.text)}
        assert browser.post("/account/language", data=language).status_code == 303
        token = secrets.token_urlsafe(16)
        new_email = {"user_id": holder.user_id, "email": "new@example.go.th"}
        services.store.put("email-change:" + token, new_email, 600)
        assert browser.get(f"/verify-email/{token}").status_code == 200
        browser.cookies.clear()
        registration = push_support.sign_in_to(browser, "/register", newcomer)
        assert registration.status_code == 200
        assert_thai(registration.text, "the registration page")
        assert browser.get("/register/proof/status").status_code == 200
        params = support.authorize_params(third_party, support.pkce()[1])
        consent = browser.get("/authorize", params=params)
        assert_thai(consent.text, "the consent page")
        assert "code=" in _allow(browser, consent, third_party.redirect_uri)
        browser.cookies.clear()
        forgot = browser.get("/forgot")
        assert_thai(forgot.text, "forgot password")
        asked = {"user_id": newcomer.user_id, "national_id": "1101700203450", "email": "a@b.th"}
        assert browser.post("/forgot", data={**asked, "csrf_token": support.csrf_of(forgot.text)})
        login = browser.get(
            "/authorize",
            params=support.authorize_params(first_party, support.pkce()[1]),
            follow_redirects=True,
        )
        assert 'name="password"' in login.text
        assert_thai(login.text, "the sign-in page")
        assert browser.get("/readyz").status_code == 200
        time.sleep(1.1)
        assert browser.get("/jwks").status_code == 200
    assert found == [], "run it in a worker thread (run_in_threadpool):\n" + "\n".join(found)
