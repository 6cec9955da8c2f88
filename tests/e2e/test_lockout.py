"""Five wrong passwords lock the account for five minutes, even under parallel attempts."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from sqlalchemy import func, select

from idp.app import create_app
from idp.storage.models import AuditEvent
from tests import support
from tests.backends import Backend
from tests.live import free_port, serve

PARALLEL = 20


def _prepared_login(base: str, rp: support.RelyingParty) -> tuple[httpx.Client, str, str]:
    browser = httpx.Client(base_url=base, follow_redirects=False)
    login_url = browser.get(
        "/authorize", params=support.authorize_params(rp, support.pkce()[1])
    ).headers["location"]
    page = browser.get(login_url)
    return browser, login_url, support.csrf_of(page.text)


def test_lockout_holds_under_parallel_wrong_attempts(backend: Backend, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    user, rp = support.create_user(services), support.create_client(services)
    with serve(app, port):
        attempts = [_prepared_login(base, rp) for _ in range(PARALLEL)]
        barrier = threading.Barrier(PARALLEL)
        statuses: list[int] = []

        def attack(browser: httpx.Client, url: str, csrf: str) -> None:
            barrier.wait()
            response = browser.post(
                url,
                data={"username": user.user_id, "password": "wrong password", "csrf_token": csrf},
            )
            statuses.append(response.status_code)

        threads = [threading.Thread(target=attack, args=a) for a in attempts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert statuses == [401] * PARALLEL
        browser, url, csrf = _prepared_login(base, rp)
        correct = browser.post(
            url, data={"username": user.user_id, "password": user.password, "csrf_token": csrf}
        )
        assert correct.status_code == 401
        assert "5 นาที" in correct.text
    with services.db.session() as session:
        checked = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "login.password",
                AuditEvent.subject == user.user_id,
                AuditEvent.outcome == "failure",
            )
        )
        locks = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "account.lockout", AuditEvent.subject == user.user_id)
        )
    assert checked == 5
    assert locks == 1
