"""Interop: the certified openid-client library against our server, over real HTTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from idp.web.app import create_app
from tests import support
from tests.backends import Backend
from tests.live import free_port, serve

HERE = Path(__file__).resolve().parent
RP_SCRIPT = HERE / "rp.mjs"


def test_openid_client_full_lifecycle(backend: Backend, tmp_path: Path) -> None:
    if not (HERE / "node_modules" / "openid-client").exists():
        pytest.fail("openid-client is not installed: run `make test` (npm ci in tests/interop)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    settings = support.make_settings(backend, tmp_path, issuer=issuer)
    app = create_app(settings)
    services = app.state.ctx.services
    user = support.create_user(services)
    rp = support.create_client(
        services,
        redirect_uris=["http://127.0.0.1:9/cb"],
        post_logout_redirect_uris=("http://127.0.0.1:9/bye",),
        first_party=False,
        grant_types=("authorization_code", "refresh_token"),
    )
    with serve(app, port), httpx.Client(base_url=issuer, follow_redirects=False) as browser:
        node = subprocess.Popen(
            [
                "node",
                str(RP_SCRIPT),
                json.dumps(
                    {
                        "issuer": issuer,
                        "client_id": rp.client_id,
                        "client_secret": rp.secret,
                        "redirect_uri": rp.redirect_uri,
                        "scope": "openid profile email gfmis offline_access",
                        "post_logout_redirect_uri": "http://127.0.0.1:9/bye",
                    }
                ),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert node.stdin
        assert node.stdout
        first = json.loads(node.stdout.readline())
        assert "authorization_url" in first, first
        response = browser.get(first["authorization_url"])
        response = support.submit_login(
            browser, response.headers["location"], user.user_id, user.password
        )
        response = browser.get(response.headers["location"])  # resume → consent page
        assert response.status_code == 200
        assert "consent" in response.text
        consent_url = response.text.split('<form method="post" action="')[1].split('"')[0]
        response = browser.post(
            consent_url, data={"decision": "allow", "csrf_token": support.csrf_of(response.text)}
        )
        callback = support.follow_to_client(browser, response, rp.redirect_uri)
        node.stdin.write(callback + "\n")
        node.stdin.flush()
        result = json.loads(node.stdout.readline())
        node.wait(timeout=30)
        assert "error" not in result, result
        assert result["claims"]["sub"] == user.user_id
        assert result["claims"]["amr"] == ["pwd"]
        assert result["userinfo"]["gfmis_user_id"] == user.user_id
        assert result["introspected"]["active"] is True
        assert result["revoked_refresh_reuse"] == "invalid_grant"
        logout = browser.get(result["logout_url"])
        assert logout.status_code == 303
        assert logout.headers["location"] == "http://127.0.0.1:9/bye?state=bye"
