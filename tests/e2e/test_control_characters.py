"""Control characters and Authlib's error-text check at every OIDC endpoint and form (issue #11,
items 6 and 7): a clear 400, never a 500, on both backends."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests import support

CONTROLS = ["%00", "%01", "%0A", "%0D", "%09", "%1F", "%7F"]
QUOTES = ["%22", "%5C"]  # " and \\ : Authlib refuses them in its error texts


def _client(app_client: TestClient) -> TestClient:
    return TestClient(app_client.app, base_url=support.ISSUER, raise_server_exceptions=False)


@pytest.mark.parametrize("bad", CONTROLS)
@pytest.mark.parametrize(
    "path",
    [
        "/authorize?response_type=code&client_id=a{b}b&redirect_uri=http://localhost:9999/cb",
        "/authorize?response_type=code&client_id=x&redirect_uri=http://a{b}b",
        "/logout?client_id=a{b}b",
        "/forgot?x={b}",
        "/admin/api/v1/users?q={b}",
        "/admin/api/v1/users/T{b}1",
        "/register{b}",
    ],
)
def test_a_control_character_in_a_url_is_a_clear_400(
    app_client: TestClient, path: str, bad: str
) -> None:
    response = _client(app_client).get(path.format(b=bad))
    assert response.status_code == 400, response.text[:300]
    assert "อักขระควบคุม" in response.text or "control characters" in response.text


@pytest.mark.parametrize("bad", ["%00", "%01", "%1B", "%7F"])
@pytest.mark.parametrize(
    ("path", "field", "extra"),
    [
        ("/token", "client_id", {"grant_type": "client_credentials"}),
        ("/revoke", "client_id", {"token": "x"}),
        ("/introspect", "client_id", {"token": "x"}),
        ("/forgot", "user_id", {"national_id": "1101700203450", "email": "a@example.go.th"}),
        ("/register/email", "email", {}),
        ("/login/abc", "username", {"password": "x"}),
    ],
)
def test_a_control_character_in_a_form_is_a_clear_400(
    app_client: TestClient, path: str, field: str, extra: dict[str, str], bad: str
) -> None:
    body = "&".join([f"{field}=T05{bad}00", *(f"{k}={v}" for k, v in extra.items())])
    response = _client(app_client).post(
        path, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400, response.text[:300]


def test_a_form_may_keep_line_breaks_and_tabs(app_client: TestClient) -> None:
    response = _client(app_client).post(
        "/token",
        content="grant_type=client_credentials&client_id=x&note=a%0D%0Ab%09c",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401  # an unknown client, as without the note


@pytest.mark.parametrize("bad", QUOTES)
def test_a_quote_in_an_authorize_parameter_shows_the_invalid_request_page(
    app_client: TestClient, bad: str
) -> None:
    client = _client(app_client)
    for path in (
        f"/authorize?response_type=x{bad}y&client_id=x&redirect_uri=http://a",
        f"/authorize?response_type=code&client_id=x&redirect_uri=http://a{bad}b",
    ):
        response = client.get(path)
        assert response.status_code == 400, (path, response.status_code, response.text[:300])


def test_the_form_check_ignores_the_case_of_the_content_type(app_client: TestClient) -> None:
    response = _client(app_client).post(
        "/forgot",
        content="user_id=T05%0000&national_id=1101700203450&email=a@example.go.th",
        headers={"content-type": "Application/X-WWW-Form-Urlencoded"},
    )
    assert response.status_code == 400
