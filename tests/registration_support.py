"""Helpers for registration tests: a live server with the simulated upstream and a real SMTP
server, the phone's proofing trip, and reading codes from the emails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import update

from idp.app import create_app
from idp.domain.registration import LIVE
from idp.settings import Settings
from idp.storage.models import Registration
from idp.web.context import WebContext
from tests import support
from tests.backends import Backend
from tests.live import free_port, serve
from tests.smtp import Inbox, smtp_mail, smtp_server, text_of

SOMYING = {"pid": "1101700203450", "name_th": "นางสาวสมหญิง ใจดี", "name_en": "Ms Somying Jaidee"}


@dataclass
class World:
    base: str
    services: support.Services
    inbox: Inbox
    browser: httpx.Client
    settings: Settings
    context: WebContext
    smtp: Controller
    smtp_port: int

    def restart_smtp(self) -> None:
        self.smtp = smtp_server(self.inbox, self.smtp_port)


@contextmanager
def registration_world(backend: Backend, tmp_path: Path, **upstream: object) -> Iterator[World]:
    port, smtp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    settings = support.make_settings(
        backend,
        tmp_path,
        issuer=base,
        upstream={"simulated": True, "client_secret": "test-upstream-secret", **upstream},
        mail=smtp_mail(smtp_port),
    )
    app = create_app(settings)
    inbox = Inbox()
    world: World | None = None
    started = datetime.now(UTC)
    try:
        with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
            world = World(
                base,
                app.state.ctx.services,
                inbox,
                browser,
                settings,
                app.state.ctx,
                smtp_server(inbox, smtp_port),
                smtp_port,
            )
            yield world
    finally:
        if world is not None:
            world.smtp.stop()
        release_citizens(app.state.ctx.services, started)


def release_citizens(services: support.Services, since: datetime) -> None:
    """The simulated upstream has four citizens and a national ID is registered under one user
    ID at a time: end what this test registered, so the next test may register them again."""
    with services.db.session() as session:
        session.execute(
            update(Registration)
            .where(Registration.created_at >= since, Registration.status.in_(LIVE))
            .values(status="cancelled", decision_reason="test finished")
        )


def phone_proofing(proof_link: str, pid: str, decision: str = "allow") -> httpx.Response:
    """The phone: open the QR link, choose the test citizen at the upstream, consent, return."""
    with httpx.Client(follow_redirects=False) as phone:
        to_upstream = phone.get(proof_link)
        assert to_upstream.status_code == 303, to_upstream.text
        authorize_url = to_upstream.headers["location"]
        page = phone.get(authorize_url)
        assert page.status_code == 200, page.text
        hidden = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
        chosen = phone.post(
            authorize_url.split("?")[0], data={**hidden, "pid": pid, "decision": decision}
        )
        assert chosen.status_code == 303
        return phone.get(chosen.headers["location"])


def proof_link(page_html: str) -> str:
    match = re.search(r'href="(http[^"]+/register/proof/[^"]+)"', page_html)
    assert match, "no proofing link on the page"
    return match.group(1)


def otp_from(inbox: Inbox, count: int, to: str) -> str:
    messages = inbox.wait_for(count, to=to)
    assert len(messages) >= count
    match = re.search(r"\b(\d{6})\b", text_of(messages[count - 1]))
    assert match
    return match.group(1)
