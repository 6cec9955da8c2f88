"""UserInfo by GET and POST (OIDC Core §5.3.1) with exactly one way of sending the access
token (RFC 6750 §2): the header with any body or none, or a form body."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support import Person, RelyingParty, exchange, pkce, sign_in

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def access_token(app_client: TestClient, rp: RelyingParty, user: Person) -> str:
    verifier, challenge = pkce()
    code = sign_in(app_client, rp, user, challenge, scope="openid email")["code"]
    return str(exchange(app_client, rp, code, verifier).json()["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [(None, b""), ("application/json", b""), (FORM, b""), ("application/json", b"{}")],
)
def test_post_with_the_header_token_answers_the_claims(
    app_client: TestClient, access_token: str, user: Person, content_type: str | None, body: bytes
) -> None:
    headers = _bearer(access_token)
    if content_type:
        headers["Content-Type"] = content_type
    response = app_client.post("/userinfo", headers=headers, content=body)
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == user.user_id
    assert response.headers["cache-control"] == "no-store"


def test_get_with_the_header_token_answers_the_same_claims(
    app_client: TestClient, access_token: str
) -> None:
    got = app_client.get("/userinfo", headers=_bearer(access_token))
    posted = app_client.post("/userinfo", headers=_bearer(access_token))
    assert got.status_code == posted.status_code == 200
    assert got.json() == posted.json()
    assert set(got.json()) == {"sub", "email", "email_verified"}


def test_token_in_a_form_body_is_accepted(app_client: TestClient, access_token: str) -> None:
    response = app_client.post("/userinfo", data={"access_token": access_token})
    assert response.status_code == 200, response.text


def test_token_in_a_body_that_is_not_a_form_is_refused(
    app_client: TestClient, access_token: str
) -> None:
    response = app_client.post(
        "/userinfo",
        content=("access_token=" + access_token).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_request"'


def test_token_in_both_the_header_and_the_body_is_refused(
    app_client: TestClient, access_token: str
) -> None:
    response = app_client.post(
        "/userinfo", headers=_bearer(access_token), data={"access_token": access_token}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_request"'


def test_repeated_token_in_the_body_is_refused(app_client: TestClient, access_token: str) -> None:
    response = app_client.post(
        "/userinfo",
        content=f"access_token={access_token}&access_token={access_token}".encode(),
        headers={"Content-Type": FORM},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("content_type", [None, FORM, "application/json"])
def test_post_without_any_token_is_challenged(
    app_client: TestClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = app_client.post("/userinfo", headers=headers, content=b"")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_post_with_a_bad_header_token_is_invalid_token(app_client: TestClient) -> None:
    response = app_client.post("/userinfo", headers=_bearer("not-a-token"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
