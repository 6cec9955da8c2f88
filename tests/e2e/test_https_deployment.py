"""Under an https issuer: __Host- cookies, Secure, HSTS."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from idp.app import create_app
from tests import support
from tests.backends import Backend


def test_https_issuer_uses_host_prefixed_secure_cookies_and_hsts(
    backend: Backend, tmp_path: Path
) -> None:
    issuer = "https://idp.example.go.th"
    app = create_app(support.make_settings(backend, tmp_path, issuer=issuer))
    with TestClient(app, base_url=issuer, follow_redirects=False) as client:
        services = app.state.ctx.services
        rp = support.create_client(services, redirect_uris=["https://rp.example.go.th/cb"])
        user = support.create_user(services)
        response = client.get("/authorize", params=support.authorize_params(rp, support.pkce()[1]))
        page = client.get(response.headers["location"])
        assert "max-age=31536000" in page.headers["strict-transport-security"]
        csrf_cookie = page.headers["set-cookie"]
        assert csrf_cookie.startswith("__Host-csrf=")
        assert "Secure" in csrf_cookie
        assert "HttpOnly" in csrf_cookie
        done = client.post(
            response.headers["location"],
            data={
                "username": user.user_id,
                "password": user.password,
                "csrf_token": support.csrf_of(page.text),
            },
        )
        session_cookie = done.headers["set-cookie"]
        assert session_cookie.startswith("__Host-idp_session=")
        assert "Secure" in session_cookie
        assert "samesite=lax" in session_cookie.lower()
