"""What an error or a code-carrying redirect looks like to a browser (issue #11, item 11): the
500 page has every security header, and the redirect with a code is never cached."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from tests import support


async def _boom(request: Request) -> Response:
    raise RuntimeError("a bug")


def test_a_500_page_has_the_security_headers(app_client: TestClient) -> None:
    app_client.app.router.routes.insert(0, Route("/boom", _boom))  # type: ignore[attr-defined]
    client = TestClient(app_client.app, base_url=support.ISSUER, raise_server_exceptions=False)
    response = client.get("/boom")
    assert response.status_code == 500
    assert "ระบบขัดข้อง" in response.text
    assert "a bug" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_the_redirect_that_carries_a_code_is_not_cached(
    app_client: TestClient, rp: support.RelyingParty, user: support.Person
) -> None:
    response = app_client.get("/authorize", params=support.authorize_params(rp, support.pkce()[1]))
    response = support.submit_login(
        app_client, response.headers["location"], user.user_id, user.password
    )
    for _ in range(10):
        location = response.headers["location"]
        if location.startswith(rp.redirect_uri):
            break
        response = app_client.get(location)
    assert "code=" in response.headers["location"]
    assert response.headers["cache-control"] == "no-store"


def test_a_wrong_method_names_the_allowed_ones(app_client: TestClient) -> None:
    response = app_client.delete("/token")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"error": "method_not_allowed"}


def test_an_unknown_api_path_answers_json(app_client: TestClient) -> None:
    response = app_client.get("/admin/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert app_client.get("/no-such-page").headers["content-type"].startswith("text/html")
