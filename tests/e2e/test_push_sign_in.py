"""Sign-in with password + push approval by the reference authenticator, over real HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.app import create_app
from idp.domain.acr import ACR_PASSWORD, ACR_PUSH
from idp.storage.models import DeviceRecord, User
from push_auth.authenticator.client import Authenticator
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve


@dataclass
class PushWorld:
    base: str
    services: support.Services
    user: support.Person
    rp: support.RelyingParty
    browser: httpx.Client
    phone: Authenticator


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> Iterator[PushWorld]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    user, rp = support.create_user(services), support.create_client(services)
    support.approve_registration(services, user.user_id)
    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        phone = push_support.activate(browser, user, tmp_path / "phone")
        browser.cookies.clear()
        yield PushWorld(base, services, user, rp, browser, phone)


def _id_token(world: PushWorld, code: str, verifier: str) -> dict[str, object]:
    tokens = support.exchange(world.browser, world.rp, code, verifier).json()
    keys = KeySet.import_key_set(world.browser.get("/jwks").json())
    return dict(jwt.decode(tokens["id_token"], keys).claims)


def test_push_approval_gives_the_push_acr_and_amr(world: PushWorld) -> None:
    verifier, challenge = support.pkce()
    login_url, page = push_support.push_page(world.browser, world.rp, world.user, challenge)
    shown = push_support.shown_pictures(page.text)
    assert len(shown) == 4
    pending = world.phone.pending(wait=5)
    assert pending is not None
    assert "pictures" not in pending  # the phone never shows the answer
    assert pending["context"]["client_name"] == "Test RP"
    assert world.phone.approve(push_support.PIN, shown)["status"] == "approved"
    assert world.browser.get(login_url + "/push").json() == {"status": "approved"}
    result = push_support.finish_push(world.browser, login_url, page, world.rp.redirect_uri)
    claims = _id_token(world, result["code"], verifier)
    assert claims["acr"] == ACR_PUSH
    assert claims["amr"] == ["mfa", "pin", "pwd", "swk"]


def test_wrong_pictures_fail_and_back_off(world: PushWorld) -> None:
    login_url, page = push_support.push_page(world.browser, world.rp, world.user, support.pkce()[1])
    shown = push_support.shown_pictures(page.text)
    wrong = [(p + 1) % 32 for p in shown]
    assert world.phone.approve(push_support.PIN, wrong)["status"] == "failed"
    assert world.browser.get(login_url + "/push").json() == {"status": "failed"}
    refused = world.browser.post(
        login_url, data={"action": "check", "csrf_token": support.csrf_of(page.text)}
    )
    assert refused.status_code == 200  # still on the push page, no code
    retry = world.browser.post(
        login_url, data={"action": "retry", "csrf_token": support.csrf_of(page.text)}
    )
    assert "วินาที" in retry.text  # backed off: "please wait N seconds"


def test_step_up_asks_only_for_the_push(world: PushWorld) -> None:
    user, browser = world.user, world.browser
    login_url, page = push_support.push_page(browser, world.rp, user, support.pkce()[1])
    world.phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    push_support.finish_push(browser, login_url, page, world.rp.redirect_uri)
    time.sleep(1.1)
    # max_age=0 within the session: only the push step again, no password
    response = browser.get(
        "/authorize", params=support.authorize_params(world.rp, support.pkce()[1], max_age="0")
    )
    step = browser.get(response.headers["location"])
    assert 'name="password"' not in step.text
    assert len(push_support.shown_pictures(step.text)) == 4
    world.phone.approve(push_support.PIN, push_support.shown_pictures(step.text))
    result = push_support.finish_push(
        browser, response.headers["location"], step, world.rp.redirect_uri
    )
    assert "code" in result


def test_user_without_device_gets_password_acr_or_a_refusal(world: PushWorld) -> None:
    other = support.create_user(world.services)
    verifier, challenge = support.pkce()
    result = support.sign_in(world.browser, world.rp, other, challenge, acr_values=ACR_PUSH)
    assert _id_token(world, result["code"], verifier)["acr"] == ACR_PASSWORD
    essential = f'{{"id_token": {{"acr": {{"essential": true, "values": ["{ACR_PUSH}"]}}}}}}'
    refused = world.browser.get(
        "/authorize", params=support.authorize_params(world.rp, support.pkce()[1], claims=essential)
    )
    assert refused.status_code == 403
    assert "Soft Token" in refused.text
    register = re.search(r'href="(/register\?next=[^"]+)"', refused.text)
    assert register
    assert world.browser.get(register.group(1)).status_code == 200
    back = world.services.store.get("reg-continue:" + other.user_id)
    assert back is not None  # after activation, "Continue" returns to this request
    assert ("client_id", world.rp.client_id) in [tuple(p) for p in back["params"]]


def _set_expiry(world: PushWorld, when: datetime) -> None:
    with world.services.db.session() as session:
        for record in session.scalars(
            select(DeviceRecord).where(DeviceRecord.user_id == world.user.user_id)
        ):
            record.not_after = when


def test_renewal_notice_offers_continue_or_renew(world: PushWorld) -> None:
    _set_expiry(world, datetime.now(UTC) + timedelta(days=12))
    login_url, page = push_support.push_page(world.browser, world.rp, world.user, support.pkce()[1])
    world.phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    after = world.browser.post(
        login_url, data={"action": "check", "csrf_token": support.csrf_of(page.text)}
    )
    notice = world.browser.get(after.headers["location"])
    assert "12" in notice.text  # days left
    assert 'value="renew"' in notice.text
    assert 'value="continue"' in notice.text
    renew = world.browser.post(
        login_url, data={"action": "renew", "csrf_token": support.csrf_of(notice.text)}
    )
    assert world.browser.get(login_url + "/device").json() == {"status": "waiting"}
    world.phone.renew(push_support.PIN)
    assert world.browser.get(login_url + "/device").json() == {"status": "renewed"}
    done = world.browser.post(
        login_url, data={"action": "continue", "csrf_token": support.csrf_of(renew.text)}
    )
    assert "code" in support.query_of(
        support.follow_to_client(world.browser, done, world.rp.redirect_uri)
    )


def test_expired_certificate_forces_renewal_before_the_push(world: PushWorld) -> None:
    _set_expiry(world, datetime.now(UTC) - timedelta(days=1))
    login_url, page = push_support.push_page(world.browser, world.rp, world.user, support.pkce()[1])
    assert "Update Profile" in page.text
    assert not push_support.shown_pictures(page.text)
    world.phone.renew(push_support.PIN)
    assert world.browser.get(login_url + "/device").json() == {"status": "renewed"}
    push_page = world.browser.post(login_url, data={"csrf_token": support.csrf_of(page.text)})
    shown = push_support.shown_pictures(push_page.text)
    assert len(shown) == 4
    assert world.phone.approve(push_support.PIN, shown)["status"] == "approved"
    result = push_support.finish_push(world.browser, login_url, push_page, world.rp.redirect_uri)
    assert "code" in result


def test_acr_values_step_up_from_a_password_session(backend: Backend, tmp_path: Path) -> None:
    """Signed in with the password before activating: asking for the push acr adds only the
    push step."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    user, rp = support.create_user(services), support.create_client(services)
    support.approve_registration(services, user.user_id)
    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        phone = push_support.activate(browser, user, tmp_path / "phone")  # password session
        verifier, challenge = support.pkce()
        response = browser.get(
            "/authorize", params=support.authorize_params(rp, challenge, acr_values=ACR_PUSH)
        )
        login_url = response.headers["location"]
        page = browser.get(login_url)
        assert 'name="password"' not in page.text
        phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
        result = push_support.finish_push(browser, login_url, page, rp.redirect_uri)
        tokens = support.exchange(browser, rp, result["code"], verifier).json()
        keys = KeySet.import_key_set(browser.get("/jwks").json())
        assert jwt.decode(tokens["id_token"], keys).claims["acr"] == ACR_PUSH


def test_a_client_minimum_acr_makes_push_necessary(world: PushWorld) -> None:
    strict = support.create_client(world.services, min_acr=ACR_PUSH)
    verifier, challenge = support.pkce()
    login_url, page = push_support.push_page(world.browser, strict, world.user, challenge)
    world.phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    result = push_support.finish_push(world.browser, login_url, page, strict.redirect_uri)
    tokens = support.exchange(world.browser, strict, result["code"], verifier).json()
    keys = KeySet.import_key_set(world.browser.get("/jwks").json())
    assert jwt.decode(tokens["id_token"], keys).claims["acr"] == ACR_PUSH

    world.browser.cookies.clear()
    other = support.create_user(world.services)  # no Soft Token: a password is not enough
    response = world.browser.get(
        "/authorize", params=support.authorize_params(strict, support.pkce()[1])
    )
    response = support.submit_login(
        world.browser, response.headers["location"], other.user_id, other.password
    )
    while response.status_code in (302, 303):
        response = world.browser.get(response.headers["location"])
    assert response.status_code == 403
    assert "/register?next=" in response.text
    assert "/activate" not in response.text

    # approved since: the next step is activating the phone, the request parked meanwhile
    support.approve_registration(world.services, other.user_id)
    response = world.browser.get(
        "/authorize", params=support.authorize_params(strict, support.pkce()[1])
    )
    assert response.status_code == 403
    assert "/register" not in response.text
    activate = re.search(r'href="(/activate\?next=[^"]+)"', response.text)
    assert activate is not None
    assert world.browser.get(activate.group(1)).status_code == 200
    assert world.services.store.get("reg-continue:" + other.user_id) is not None


def _step_up(world: PushWorld, browser: httpx.Client) -> str:
    """Signed in with the push in `world.browser`; a request with max_age=0 starts a step-up."""
    login_url, page = push_support.push_page(world.browser, world.rp, world.user, support.pkce()[1])
    world.phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    push_support.finish_push(world.browser, login_url, page, world.rp.redirect_uri)
    time.sleep(1.1)
    response = world.browser.get(
        "/authorize", params=support.authorize_params(world.rp, support.pkce()[1], max_age="0")
    )
    return str(response.headers["location"])


def _approve_step_up(world: PushWorld, browser: httpx.Client, login_url: str) -> httpx.Response:
    page = browser.get(login_url)
    assert 'name="password"' not in page.text  # the step-up asks for the push only
    world.phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    return browser.post(
        login_url, data={"action": "check", "csrf_token": support.csrf_of(page.text)}
    )


def test_a_step_up_dies_with_the_session_it_continues(world: PushWorld) -> None:
    login_url = _step_up(world, world.browser)
    account = world.browser.get("/account")
    world.browser.post(
        "/account/sign-out-everywhere", data={"csrf_token": support.csrf_of(account.text)}
    )
    done = _approve_step_up(world, world.browser, login_url)
    assert done.headers["location"] == login_url  # from the password again, no code
    assert 'name="password"' in world.browser.get(login_url).text


def test_a_step_up_opened_in_another_browser_starts_over(world: PushWorld) -> None:
    login_url = _step_up(world, world.browser)
    with httpx.Client(base_url=world.base, follow_redirects=False) as stranger:
        done = _approve_step_up(world, stranger, login_url)
        assert done.headers["location"] == login_url
        assert 'name="password"' in stranger.get(login_url).text
        assert stranger.cookies.get("idp_session") is None


def test_a_disabled_account_gets_no_session_from_a_step_up(world: PushWorld) -> None:
    login_url = _step_up(world, world.browser)
    with world.services.db.session() as session:
        record = session.get(User, world.user.user_id)
        assert record is not None
        record.disabled = True
    page = world.browser.get(login_url)  # no step applies to a disabled account
    assert page.status_code == 403
    assert "contact an officer" in page.text or "ติดต่อเจ้าหน้าที่" in page.text
