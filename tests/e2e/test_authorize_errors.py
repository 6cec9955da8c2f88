"""The authorization endpoint's refusals: never redirect to an unverified place."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support import ISSUER, RelyingParty, authorize_params, pkce, query_of


def test_unregistered_redirect_uri_shows_error_page_and_never_redirects(
    app_client: TestClient, rp: RelyingParty
) -> None:
    params = authorize_params(rp, pkce()[1], redirect_uri="https://evil.example/cb")
    response = app_client.get("/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "คำขอเข้าสู่ระบบไม่ถูกต้อง" in response.text


def test_unknown_client_shows_error_page(app_client: TestClient, rp: RelyingParty) -> None:
    params = authorize_params(rp, pkce()[1], client_id="nobody")
    response = app_client.get("/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_unsupported_response_type_is_redirected_with_iss(
    app_client: TestClient, rp: RelyingParty
) -> None:
    params = authorize_params(rp, pkce()[1], response_type="token")
    response = app_client.get("/authorize", params=params)
    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert query["error"] == "unsupported_response_type"
    assert query["iss"] == ISSUER
    assert query["state"] == params["state"]


def test_pkce_plain_is_rejected(app_client: TestClient, rp: RelyingParty) -> None:
    verifier, _challenge = pkce()
    params = authorize_params(rp, None, code_challenge=verifier, code_challenge_method="plain")
    query = query_of(app_client.get("/authorize", params=params).headers["location"])
    assert query["error"] == "invalid_request"


def test_pkce_without_method_is_rejected(app_client: TestClient, rp: RelyingParty) -> None:
    params = authorize_params(rp, None, code_challenge=pkce()[1])
    query = query_of(app_client.get("/authorize", params=params).headers["location"])
    assert query["error"] == "invalid_request"


def test_pkce_is_required_when_the_client_requires_it(
    app_client: TestClient, rp: RelyingParty
) -> None:
    query = query_of(
        app_client.get("/authorize", params=authorize_params(rp, None)).headers["location"]
    )
    assert query["error"] == "invalid_request"
    assert "PKCE" in query["error_description"]


def test_prompt_none_without_session_gives_login_required(
    app_client: TestClient, rp: RelyingParty
) -> None:
    params = authorize_params(rp, pkce()[1], prompt="none")
    query = query_of(app_client.get("/authorize", params=params).headers["location"])
    assert query["error"] == "login_required"
    assert query["state"] == params["state"]


def test_malformed_claims_parameter_is_an_oauth_error(
    app_client: TestClient, rp: RelyingParty
) -> None:
    params = authorize_params(rp, pkce()[1], claims="{not json")
    query = query_of(app_client.get("/authorize", params=params).headers["location"])
    assert query["error"] == "invalid_request"


def test_authorize_post_with_wrong_content_type_is_a_clean_400(
    app_client: TestClient, rp: RelyingParty
) -> None:
    response = app_client.post(
        "/authorize", content=b"\x00\xff{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "<!doctype html>" in response.text
