"""Control characters and Authlib's error-text check at every OIDC endpoint and form (issue #11,
items 6 and 7): a clear 400, never a 500, on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from tests import support

CONTROLS = ["%00", "%01", "%0A", "%0D", "%09", "%1F", "%7F"]
LINE_BREAKS_AND_TABS = {"%0A", "%0D", "%09"}
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


def _every_route(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path with its parameters filled in, methods) for every route the app mounts."""
    for route in routes:
        if isinstance(route, Mount):
            yield from _every_route(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            path = re.sub(r"\{[^}]+\}", "T0500500000000201", prefix + route.path)
            yield path, set(route.methods or {"GET"})


def test_every_route_refuses_control_characters_in_every_kind_of_input(
    app_client: TestClient,
) -> None:
    """The sweep the issue asks for: each route, each method, a control character in the
    query, in a form field, in a JSON string and in the path. Never a 500; the query and the
    form are refused at the edge with 400 whatever the route."""
    client = _client(app_client)
    routes = list(_every_route(list(app_client.app.routes)))  # type: ignore[attr-defined]
    assert len(routes) > 40  # the whole app, not a corner of it
    failures: list[str] = []
    for path, methods in routes:
        for bad in CONTROLS:
            for method in methods - {"HEAD"}:
                query = client.request(method, f"{path}?x=a{bad}b")
                if query.status_code != 400:
                    failures.append(f"{method} {path}?x={bad}: {query.status_code}")
                if method in {"POST", "PUT", "PATCH"}:
                    form = client.request(
                        method,
                        path,
                        content=f"x=a{bad}b",
                        headers={"content-type": "application/x-www-form-urlencoded"},
                    )
                    allowed = bad in LINE_BREAKS_AND_TABS  # forms may carry them (text areas)
                    if form.status_code >= 500 or (not allowed and form.status_code != 400):
                        failures.append(f"{method} {path} form {bad}: {form.status_code}")
                    raw = unquote(bad)
                    json = client.request(method, path, json={"x": f"a{raw}b", "y": [raw]})
                    if json.status_code >= 500:
                        failures.append(f"{method} {path} JSON {bad}: {json.status_code}")
            inner = client.get(path.rstrip("/") + f"/a{bad}b")
            if inner.status_code != 400:
                failures.append(f"GET {path}/a{bad}b: {inner.status_code}")
    assert failures == []
