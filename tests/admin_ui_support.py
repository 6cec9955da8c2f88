"""Helpers for back-office tests: an officer with roles and an activated phone, on a live
server, and the push sign-in that the back office asks for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from idp.storage.models import User
from push_auth.authenticator.client import Authenticator
from tests import push_support, support
from tests.backends import Backend, own_database
from tests.live import free_port, serve


@dataclass
class Officer:
    person: support.Person
    phone: Authenticator


def make_officer(
    browser: httpx.Client, services: support.Services, roles: list[str], home: Path
) -> Officer:
    person = support.create_user(services)
    with services.db.session() as session:
        user = session.get(User, person.user_id)
        assert user is not None
        user.roles = roles
    support.approve_registration(services, person.user_id)
    phone = push_support.activate(browser, person, home)
    browser.cookies.clear()
    return Officer(person, phone)


def approve_on_phone(officer: Officer, page_html: str) -> None:
    """The officer taps, on the phone, the pictures that the computer shows."""
    shown = push_support.shown_pictures(page_html)
    assert len(shown) == 4, "no pictures on the push page"
    assert officer.phone.pending(wait=5) is not None
    assert officer.phone.approve(push_support.PIN, shown)["status"] == "approved"


def sign_in(browser: httpx.Client, officer: Officer, url: str = "/admin/") -> httpx.Response:
    """Open a back-office page; sign in at the IdP with password and push; land back on it.
    Redirects are followed by hand (across hosts when the back office runs alone)."""
    response = browser.get(url)
    for _ in range(12):
        if response.status_code not in (302, 303):
            return response
        target = response.url.join(response.headers["location"])
        if re.fullmatch(r"/login/[^/]+", target.path):
            page = browser.get(target)
            if 'name="password"' in page.text:
                done = browser.post(
                    target,
                    data={
                        "username": officer.person.user_id,
                        "password": officer.person.password,
                        "csrf_token": support.csrf_of(page.text),
                    },
                )
                page = browser.get(target.join(done.headers["location"]))
            approve_on_phone(officer, page.text)
            response = browser.post(
                target, data={"action": "check", "csrf_token": support.csrf_of(page.text)}
            )
            continue
        response = browser.get(target)
    raise AssertionError("too many redirects")


@dataclass
class AlertDesk:
    base: str
    services: support.Services
    browser: httpx.Client
    officer: Officer
    holder: Officer  # a user with a phone (no role)
    rp: support.RelyingParty


@contextmanager
def alert_desk(backend: Backend, tmp_path: Path) -> Iterator[AlertDesk]:
    """A live IdP on a database of its own (the dashboard counts every alert in it, and another
    test on this pytest worker may have left one in the run's shared database), with a holder
    who has a phone, an officer and a relying party."""
    from idp.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with own_database(backend, tmp_path) as own:
        app = create_app(support.make_settings(own, tmp_path, issuer=base))
        services = app.state.ctx.services
        with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
            holder = make_officer(browser, services, [], tmp_path / "holder")
            officer = make_officer(browser, services, ["officer"], tmp_path / "o")
            rp = support.create_client(services)
            yield AlertDesk(base, services, browser, officer, holder, rp)
