"""Helpers for push tests: activating the reference authenticator through the hosted pages."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.qr import read_qr
from push_auth.authenticator.state import Home
from tests import support

PIN = "246810"
PICTURE = re.compile(r"/push/v1/pictures/(\d\d)\.svg")


def sign_in_to(browser: httpx.Client, path: str, user: support.Person) -> httpx.Response:
    """Open one of our pages that needs a fresh sign-in; sign in; land on it."""
    response = browser.get(path)
    if response.status_code == 303 and response.headers["location"].startswith("/login/"):
        done = support.submit_login(
            browser, response.headers["location"], user.user_id, user.password
        )
        response = browser.get(done.headers["location"])
    return response


def activate(browser: httpx.Client, user: support.Person, home: Path) -> Authenticator:
    """Activation as a user does it: the page's QR code, read from its PNG by the authenticator."""
    page = sign_in_to(browser, "/activate", user)
    assert page.status_code == 200, page.text
    png = home.parent / f"{home.name}-qr.png"
    png.write_bytes(browser.get("/activate/qr.png").content)
    authenticator = Authenticator(Home(home), httpx.Client(timeout=40))
    authenticator.activate(read_qr(str(png)), PIN)
    assert browser.get("/activate/status").json() == {"status": "activated"}
    return authenticator


def shown_pictures(html: str) -> list[int]:
    return [int(p) for p in PICTURE.findall(html)]


def push_page(
    browser: httpx.Client,
    rp: support.RelyingParty,
    user: support.Person,
    challenge: str | None,
    **extra: str,
) -> tuple[str, httpx.Response]:
    """Authorize and sign in with the password; return the push page's URL and the page."""
    response = browser.get("/authorize", params=support.authorize_params(rp, challenge, **extra))
    login_url = response.headers["location"]
    if not login_url.startswith("/login/"):
        raise AssertionError(f"expected the sign-in, got {login_url}")
    page = browser.get(login_url)
    if 'name="password"' in page.text:
        done = browser.post(
            login_url,
            data={
                "username": user.user_id,
                "password": user.password,
                "csrf_token": support.csrf_of(page.text),
            },
        )
        page = browser.get(done.headers["location"])
    return login_url, page


def finish_push(
    browser: httpx.Client, login_url: str, page: httpx.Response, redirect_uri: str
) -> dict[str, str]:
    """The user's "I have approved" (the script's poll does the same); back at the client."""
    response = browser.post(
        login_url, data={"action": "check", "csrf_token": support.csrf_of(page.text)}
    )
    return support.query_of(support.follow_to_client(browser, response, redirect_uri))
