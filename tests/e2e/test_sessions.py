"""SSO session behaviour: max_age, prompt=login, consent memory, CSRF, sign-out."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from tests import support
from tests.support import Person, RelyingParty, authorize_params, pkce, query_of, sign_in


def test_second_authorization_reuses_the_session(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    sign_in(app_client, rp, user, pkce()[1])
    response = app_client.get("/authorize", params=authorize_params(rp, pkce()[1], prompt="none"))
    assert "code" in query_of(response.headers["location"])


def test_max_age_forces_reauthentication(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    sign_in(app_client, rp, user, pkce()[1])
    time.sleep(1.1)
    response = app_client.get("/authorize", params=authorize_params(rp, pkce()[1], max_age="0"))
    assert response.headers["location"].startswith("/login/")
    silent = app_client.get(
        "/authorize", params=authorize_params(rp, pkce()[1], max_age="0", prompt="none")
    )
    assert query_of(silent.headers["location"])["error"] == "login_required"
    result = sign_in(app_client, rp, user, pkce()[1], max_age="0")
    assert "code" in result


def test_prompt_login_asks_for_the_password_again(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    sign_in(app_client, rp, user, pkce()[1])
    response = app_client.get("/authorize", params=authorize_params(rp, pkce()[1], prompt="login"))
    assert response.headers["location"].startswith("/login/")


def test_third_party_consent_is_asked_once_and_remembered(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = support.create_client(services, first_party=False)
    response = app_client.get("/authorize", params=authorize_params(rp, pkce()[1]))
    response = support.submit_login(
        app_client, response.headers["location"], user.user_id, user.password
    )
    page = app_client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Test RP" in page.text
    action = page.text.split('<form method="post" action="')[1].split('"')[0]
    denied = app_client.post(
        action, data={"decision": "deny", "csrf_token": support.csrf_of(page.text)}
    )
    assert query_of(denied.headers["location"])["error"] == "access_denied"
    # signed in already: the consent page comes straight away; allow, then it is remembered
    page = app_client.get("/authorize", params=authorize_params(rp, pkce()[1]))
    assert page.status_code == 200
    action = page.text.split('<form method="post" action="')[1].split('"')[0]
    allowed = app_client.post(
        action, data={"decision": "allow", "csrf_token": support.csrf_of(page.text)}
    )
    assert "code" in query_of(allowed.headers["location"])
    again = app_client.get("/authorize", params=authorize_params(rp, pkce()[1], prompt="none"))
    assert "code" in query_of(again.headers["location"])


def test_login_form_without_or_with_wrong_csrf_token_is_refused(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    login_url = app_client.get("/authorize", params=authorize_params(rp, pkce()[1])).headers[
        "location"
    ]
    app_client.get(login_url)
    for token in (None, "forged"):
        data = {"username": user.user_id, "password": user.password}
        if token:
            data["csrf_token"] = token
        response = app_client.post(login_url, data=data)
        assert response.status_code == 403
        assert "idp_session" not in response.cookies


def test_wrong_password_message_does_not_reveal_whether_the_user_exists(
    app_client: TestClient, rp: RelyingParty, user: Person
) -> None:
    login_url = app_client.get("/authorize", params=authorize_params(rp, pkce()[1])).headers[
        "location"
    ]
    known = support.submit_login(app_client, login_url, user.user_id, "wrong password!")
    unknown = support.submit_login(app_client, login_url, support.new_user_id(), "wrong password!")
    assert known.status_code == unknown.status_code == 401

    def message(html: str) -> str:
        return html.split('role="alert"')[1].split("</p>")[0]

    assert message(known.text) == message(unknown.text)


def test_security_headers_on_pages(app_client: TestClient, rp: RelyingParty) -> None:
    login_url = app_client.get("/authorize", params=authorize_params(rp, pkce()[1])).headers[
        "location"
    ]
    page = app_client.get(login_url)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert 'autocomplete="username"' in page.text
    assert 'autocomplete="current-password"' in page.text
    english = app_client.get(login_url + "?lang=en")
    assert "User ID" in english.text
    assert english.cookies.get("lang") == "en"


def test_logout_ends_the_session(app_client: TestClient, rp: RelyingParty, user: Person) -> None:
    sign_in(app_client, rp, user, pkce()[1])
    confirm = app_client.get("/logout")
    assert confirm.status_code == 200
    done = app_client.post(
        "/logout", data={"confirm": "yes", "csrf_token": support.csrf_of(confirm.text)}
    )
    assert done.status_code == 200
    response = app_client.get("/authorize", params=authorize_params(rp, pkce()[1], prompt="none"))
    assert query_of(response.headers["location"])["error"] == "login_required"
