"""Helpers for back-office tests: an officer with roles and an activated phone, on a live
server, and the push sign-in that the back office asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from idp.storage.models import User
from push_auth.authenticator.client import Authenticator
from tests import push_support, support


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
